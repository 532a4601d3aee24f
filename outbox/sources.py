"""What the outbox asks of the apps whose messages it delivers.

A source (customer emails, staff alerts, follow-ups, webhooks) registers in
its ``AppConfig.ready`` how to compose its rows at send time, read in a
fixed number of queries for a whole batch, and what to record on its own
rows when one is delivered, fails for good or is dropped. The hooks that
record run inside the outbox's transaction that changes the row, so the
source's state and the outbox's never disagree."""

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.mail import EmailMessage
from django.db import InterfaceError, OperationalError
from django.db.models import OuterRef, Subquery

from outbox.failures import describe

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Email:
    message: EmailMessage


@dataclass(frozen=True)
class Webhook:
    url: str
    body: bytes
    headers: dict[str, str]


@dataclass(frozen=True)
class Skip:
    """Nothing to send any more (cancelled meanwhile): the row is cancelled."""

    reason: str


@dataclass(frozen=True)
class Unsendable:
    """It can never be sent as it is (a template that fails): failed for good."""

    error: str


@dataclass(frozen=True)
class Postpone:
    """Not now (a customer's night): the row waits until ``until``, no attempt spent."""

    until: datetime


Composed = Email | Webhook | Skip | Unsendable | Postpone


@dataclass(frozen=True)
class Attempt:
    """One try at delivering, as a source may want to log it."""

    error: str = ""
    status_code: int | None = None
    duration_ms: int = 0


@dataclass(frozen=True)
class Delivered:
    source_id: int
    at: datetime
    attempt: Attempt


def email_or_unsendable(
    build: Callable[..., EmailMessage], *args: Any, what: str
) -> "Email | Unsendable":
    """One row's email, ``build(*args)``, made at send time by a source's ``compose``. A
    database error is the connection's, not the row's: it is raised, and the
    dispatcher tries the batch again. Anything else (a header Django cannot
    encode, a template that fails) is the row's own: failed for good."""
    try:
        return Email(build(*args))
    except (OperationalError, InterfaceError):
        raise
    except Exception as exc:
        logger.exception("%s cannot be emailed", what)
        return Unsendable(describe(exc))


def delivered_at(source: str) -> Subquery:
    """The time its outbox row was sent, for a source's row: one UPDATE of
    all a batch's rows, each with its own time, costs the same whatever
    their number."""
    from outbox.models import OutboxItem

    sent = OutboxItem.objects.filter(source=source, source_id=OuterRef("pk"))
    return Subquery(sent.values("sent_at")[:1])


def _nothing(source_id: int, reason: str = "") -> None:
    return None


@dataclass(frozen=True)
class Source:
    name: str
    # Source ids -> what to send for each (an id left out is skipped).
    compose: Callable[[Sequence[int]], Mapping[int, Composed]]
    # Rows delivered, each at its moment by its attempt: recorded together
    # after a batch's sends (the outbox's own row says sent the moment the
    # server accepts), in one transaction, once each.
    delivered: Callable[[Sequence[Delivered]], None]
    # A source id whose attempt failed; it is tried again unless ``failed`` follows.
    attempt_failed: Callable[[int, Attempt], None]
    # A source id that failed for good, with the error: tell the people who should know.
    failed: Callable[[int, str], None]
    # A source id dropped before sending (``Skip``), with the reason.
    cancelled: Callable[[int, str], None] = _nothing
    # A source id an admin sends again after it failed or was cancelled.
    requeued: Callable[[int], None] = _nothing


_SOURCES: dict[str, Source] = {}


def register(source: Source) -> None:
    _SOURCES[source.name] = source


def source_for(name: str) -> Source:
    try:
        return _SOURCES[name]
    except KeyError:
        raise LookupError(f"No outbox source is registered as {name!r}.") from None
