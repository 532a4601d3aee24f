"""Delivering a batch of outbox rows, each at least once and, but for one
window, exactly once.

A worker claims up to HELPDESK_OUTBOX_BATCH due rows in one statement with a
lease (HELPDESK_OUTBOX_LEASE, renewed while the batch works), has their
sources compose them in a fixed number of queries, sends the emails over one
SMTP connection, and marks each sent in its own short commit right after the
server accepts it, before the next is sent. A worker that dies leaves its
rows leased; beat's sweep makes them due again once the lease lapses.

The one window: a worker killed after the server accepted a mail and before
its mark-sent committed (or stopped, or a single send slower than the half
lease left at its last renewal, one minute by default, so that the sweep
took its rows back). That mail is sent again, with the same Message-ID
(or webhook delivery id), for the receiver to drop. A lost database
connection at that moment does not open the window: the mark-sent is tried
again, reconnecting, for as long as the lease holds. On PostgreSQL the
mark-sent's commit does not wait for the disk, so the database server's own
crash within a fraction of a second after it also sends that mail again
(``outbox.outcomes.mark_sent``).

This module delivers; the lease on the rows is ``outbox.leases``, and what
happened to each row is recorded by ``outbox.outcomes``.
"""

import logging
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.mail import get_connection
from django.db import InterfaceError, OperationalError

from outbox.failures import Failure, describe, session_failure, smtp_failure
from outbox.http import post
from outbox.leases import (
    Lease,
    claim,
    monotonic_seconds,
    release,
    release_quietly,
    renew,
    while_leased,
)
from outbox.models import OutboxItem
from outbox.outcomes import (
    mark_sent,
    record_delivered,
    settle_failure,
    settle_postponed,
    settle_skipped,
)
from outbox.sources import (
    Attempt,
    Composed,
    Delivered,
    Email,
    Postpone,
    Skip,
    Unsendable,
    source_for,
)

logger = logging.getLogger(__name__)


@dataclass
class Dispatch:
    """What a batch did, by outbox row id."""

    sent: list[int] = field(default_factory=list)
    retrying: dict[int, str] = field(default_factory=dict)
    failed: dict[int, str] = field(default_factory=dict)
    skipped: list[int] = field(default_factory=list)
    postponed: list[int] = field(default_factory=list)
    # Claimed but not reached in the batch's time: waiting again, for the next task.
    released: list[int] = field(default_factory=list)
    claimed: int = 0


def outbox_dispatch(*, item_ids: Sequence[int] | None = None) -> Dispatch:
    """Deliver the due rows among ``item_ids`` (or any due rows), a batch."""
    lease = Lease(settings.HELPDESK_OUTBOX_LEASE)
    items = claim(item_ids, lease)
    dispatch = Dispatch(claimed=len(items))
    if not items:
        return dispatch
    try:
        _deliver(items, lease, dispatch)
    finally:
        handled = {*dispatch.sent, *dispatch.retrying, *dispatch.failed}
        handled.update(dispatch.skipped, dispatch.postponed, dispatch.released)
        left = [item.pk for item in items if item.pk not in handled]
        if left:  # the batch broke off: let others have the rows now, not at the lease's end
            release_quietly(left, lease)
    return dispatch


def _deliver(items: list[OutboxItem], lease: Lease, dispatch: Dispatch) -> None:
    composed = while_leased(lambda: _compose(items), lease)
    deadline = monotonic_seconds() + settings.HELPDESK_OUTBOX_BATCH_SECONDS
    mail = _MailSession()
    # Rows reclaimed by the sweep while this batch was late to renew: someone
    # else's now, the rest of the batch through (the next renewal is half a
    # lease away, and would not see them: they are no longer ours to renew).
    lost: set[int] = set()
    records: list[tuple[OutboxItem, Delivered]] = []
    try:
        for index, item in enumerate(items):
            if index and monotonic_seconds() > deadline:  # at least one row a task
                rest = [row.pk for row in items[index:] if row.pk not in lost]
                while_leased(partial(release, rest, lease), lease)
                dispatch.released.extend(rest)
                return
            if monotonic_seconds() > lease.renew_at:
                lost |= while_leased(partial(renew, items[index:], lease), lease)
            if item.pk in lost:
                continue
            _deliver_one(item, composed.get(item.pk), lease, dispatch, mail, records)
    finally:
        mail.close()
        if records:
            while_leased(partial(record_delivered, records), lease)


def _deliver_one(
    item: OutboxItem,
    composed: Composed | Failure | None,
    lease: Lease,
    dispatch: Dispatch,
    mail: "_MailSession",
    records: list[tuple[OutboxItem, Delivered]],
) -> None:
    if composed is None:
        composed = Skip("Its source has nothing to send.")
    if isinstance(composed, Skip):
        while_leased(lambda: settle_skipped(item, lease, composed.reason), lease)
        dispatch.skipped.append(item.pk)
        return
    if isinstance(composed, Postpone):
        while_leased(lambda: settle_postponed(item, lease, composed.until), lease)
        dispatch.postponed.append(item.pk)
        return
    if isinstance(composed, Failure):
        failure: Failure | None = composed
        attempt = Attempt(error=composed.error)
    elif isinstance(composed, Unsendable):
        failure = Failure(composed.error, permanent=True)
        attempt = Attempt(error=composed.error)
    elif isinstance(composed, Email):
        if item.message_id:  # the row's, whatever the source built: the same on every attempt
            composed.message.extra_headers["Message-ID"] = item.message_id
        started = monotonic_seconds()
        failure = mail.send(composed.message)
        duration = int((monotonic_seconds() - started) * 1000)
        attempt = Attempt(error=failure.error if failure else "", duration_ms=duration)
    else:
        try:
            attempt, failure = post(composed)
        except Exception as exc:  # whatever it is, this row's alone: retried
            logger.exception("Webhook %s could not be posted", item.pk)
            failure = Failure(describe(exc), permanent=False)
            attempt = Attempt(error=failure.error)
    if failure is None:
        sent_at = while_leased(lambda: mark_sent(item), lease)
        records.append((item, Delivered(item.source_id, sent_at, attempt)))
        dispatch.sent.append(item.pk)
        return
    gave_up = while_leased(lambda: settle_failure(item, lease, failure, attempt), lease)
    if gave_up:
        dispatch.failed[item.pk] = failure.error
    else:
        dispatch.retrying[item.pk] = failure.error


class _MailSession:
    """One SMTP connection for the batch, opened when the first email needs
    it and opened again after a mail that failed (its session's state is
    unknown then)."""

    def __init__(self) -> None:
        self.connection: Any = None

    def send(self, message: Any) -> Failure | None:
        if self.connection is None:
            try:
                self.connection = get_connection()
                self.connection.open()
            except Exception as exc:  # noqa: BLE001 - no session: nothing against the mail
                self.close()
                return session_failure(exc)
        try:
            message.connection = self.connection
            message.send()
        except SoftTimeLimitExceeded:
            # The task is out of time, not the mail at fault: the row is
            # released (or reclaimed) like a dead worker's.
            self.close()
            raise
        # Whatever went wrong with this one mail (a refusal, an address that
        # cannot be encoded, a dropped connection) is its own failure.
        except Exception as exc:  # noqa: BLE001
            self.close()
            return smtp_failure(exc)
        return None

    def close(self) -> None:
        if self.connection is None:
            return
        try:
            self.connection.close()
        except Exception as exc:  # noqa: BLE001 - the mails are already marked
            logger.info("Closing the mail connection failed: %s", describe(exc))
        self.connection = None


def _compose(items: list[OutboxItem]) -> dict[int, Composed | Failure]:
    """What to send for each row, asked of each source once for the batch."""
    by_source: dict[str, list[OutboxItem]] = defaultdict(list)
    for item in items:
        by_source[item.source].append(item)
    composed: dict[int, Composed | Failure] = {}
    for name, rows in by_source.items():
        try:
            answers: Mapping[int, Composed] = source_for(name).compose([r.source_id for r in rows])
        except (OperationalError, InterfaceError):
            raise  # the connection: tried again by the caller
        except Exception as exc:  # one source's fault is its rows' alone
            logger.exception("Outbox source %s could not compose %s rows", name, len(rows))
            # Tried again after a backoff, and failed for good after
            # HELPDESK_OUTBOX_RETRY_FOR if it never mends.
            failure = Failure(describe(exc), permanent=False)
            answers = {}
            composed.update({row.pk: failure for row in rows})
        for row in rows:
            if row.source_id in answers:
                composed[row.pk] = answers[row.source_id]
    return composed
