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
again, reconnecting, for as long as the lease holds.
"""

import logging
import random
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any, TypeVar

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.mail import get_connection
from django.db import InterfaceError, OperationalError, connection, transaction
from django.utils import timezone

from outbox.failures import Failure, describe, session_failure, smtp_failure
from outbox.http import post
from outbox.models import OutboxItem
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

Status = OutboxItem.Status
T = TypeVar("T")


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


class Lease:
    """This batch's claim on its rows. Its deadlines are kept on ``clock``,
    a little inside the row's ``lease_until``."""

    def __init__(self, length: timedelta) -> None:
        self.token = uuid.uuid4()
        self.length = length
        self._mark(clock())

    def _mark(self, started: float) -> None:
        self.expires = started + self.length.total_seconds()
        self.renew_at = started + self.length.total_seconds() / 2

    def until(self) -> datetime:
        return timezone.now() + self.length

    def renewed(self, started: float) -> None:
        self._mark(started)


def clock() -> float:
    """Seconds on a clock that goes on while the machine sleeps (Linux's
    CLOCK_BOOTTIME; the monotonic clock elsewhere), so a worker whose host
    was suspended past its lease knows its lease is gone when it wakes."""
    if hasattr(time, "CLOCK_BOOTTIME"):
        return time.clock_gettime(time.CLOCK_BOOTTIME)
    return time.monotonic()


def outbox_dispatch(*, item_ids: Sequence[int] | None = None) -> Dispatch:
    """Deliver the due rows among ``item_ids`` (or any due rows), a batch."""
    lease = Lease(settings.HELPDESK_OUTBOX_LEASE)
    items = _claim(item_ids, lease)
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
            _release_quietly(left, lease)
    return dispatch


def _claim(item_ids: Sequence[int] | None, lease: Lease) -> list[OutboxItem]:
    """Take up to a batch of due rows under this lease, and read them back by
    its token: a connection lost as the claim commits leaves us not knowing
    whether it did, and the token tells (rows claimed and never read would
    otherwise wait for the lease to lapse)."""
    try:
        _claim_rows(item_ids, lease)
    except (OperationalError, InterfaceError) as exc:
        connection.close()
        logger.warning("Database connection lost while claiming: %s", describe(exc))
    mine = OutboxItem.objects.filter(lease_token=lease.token, status=Status.SENDING)
    return _while_leased(lambda: list(mine.order_by("due_at", "id")), lease)


def _claim_rows(item_ids: Sequence[int] | None, lease: Lease) -> None:
    now = timezone.now()
    with transaction.atomic():
        due = OutboxItem.objects.select_for_update(skip_locked=True).filter(
            status=Status.PENDING, due_at__lte=now
        )
        if item_ids is not None:
            due = due.filter(pk__in=item_ids)
        ids = list(
            due.order_by("due_at", "id").values_list("pk", flat=True)[
                : settings.HELPDESK_OUTBOX_BATCH
            ]
        )
        OutboxItem.objects.filter(pk__in=ids).update(
            status=Status.SENDING, lease_token=lease.token, lease_until=lease.until()
        )


def _deliver(items: list[OutboxItem], lease: Lease, dispatch: Dispatch) -> None:
    composed = _while_leased(lambda: _compose(items), lease)
    deadline = clock() + settings.HELPDESK_OUTBOX_BATCH_SECONDS
    mail = _MailSession()
    # Rows reclaimed by the sweep while this batch was late to renew: someone
    # else's now, the rest of the batch through (the next renewal is half a
    # lease away, and would not see them: they are no longer ours to renew).
    lost: set[int] = set()
    records: list[tuple[OutboxItem, Delivered]] = []
    try:
        for index, item in enumerate(items):
            if index and clock() > deadline:  # at least one row a task
                rest = [row.pk for row in items[index:] if row.pk not in lost]
                _while_leased(partial(_release, rest, lease), lease)
                dispatch.released.extend(rest)
                return
            if clock() > lease.renew_at:
                lost |= _while_leased(partial(_renew, items[index:], lease), lease)
            if item.pk in lost:
                continue
            _deliver_one(item, composed.get(item.pk), lease, dispatch, mail, records)
    finally:
        mail.close()
        if records:
            _while_leased(partial(_record_delivered, records), lease)


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
        _while_leased(lambda: _settle_skipped(item, lease, composed.reason), lease)
        dispatch.skipped.append(item.pk)
        return
    if isinstance(composed, Postpone):
        _while_leased(lambda: _settle_postponed(item, lease, composed.until), lease)
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
        started = clock()
        failure = mail.send(composed.message)
        duration = int((clock() - started) * 1000)
        attempt = Attempt(error=failure.error if failure else "", duration_ms=duration)
    else:
        try:
            attempt, failure = post(composed)
        except Exception as exc:  # whatever it is, this row's alone: retried
            logger.exception("Webhook %s could not be posted", item.pk)
            failure = Failure(describe(exc), permanent=False)
            attempt = Attempt(error=failure.error)
    if failure is None:
        sent_at = _while_leased(lambda: _mark_sent(item), lease)
        records.append((item, Delivered(item.source_id, sent_at, attempt)))
        dispatch.sent.append(item.pk)
        return
    gave_up = _while_leased(lambda: _settle_failure(item, lease, failure, attempt), lease)
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


# --- Recording what happened, each in a short transaction of its own ------------------


def _mine(item: OutboxItem, lease: Lease) -> Any:
    return OutboxItem.objects.filter(pk=item.pk, status=Status.SENDING, lease_token=lease.token)


def _mark_sent(item: OutboxItem) -> datetime:
    """The row is sent, in one statement committed at once, before the next
    mail goes: this is the whole window for a duplicate. Done even if the
    lease lapsed meanwhile, since the mail did go; a worker that took the
    row over after that (one send outlasting the half lease left at the
    last renewal) may have sent it too, so HELPDESK_OUTBOX_LEASE must stay
    well above the slowest send. Its source records the delivery with the
    batch's others (``_record_delivered``).

    Plain SQL: this runs once a mail, and the ORM's compiling of the same
    UPDATE cost more CPU than the server's work on it (``docs/performance.md``)."""
    now = timezone.now()
    at = connection.ops.adapt_datetimefield_value(now)
    with connection.cursor() as cursor:
        cursor.execute(_MARK_SENT, [at, at, item.pk])
    # No row updated: an earlier try committed and we did not hear back; it
    # is recorded all the same (recorded_at makes that once).
    return now


_MARK_SENT = (
    "UPDATE outbox_outboxitem SET status = 'sent', sent_at = %s,"
    " last_attempt_at = %s, attempts = attempts + 1, last_error = '',"
    " first_failure_at = NULL, lease_token = NULL, lease_until = NULL"
    " WHERE id = %s AND status IN ('sending', 'pending')"
)


@transaction.atomic
def _record_delivered(records: Sequence[tuple[OutboxItem, Delivered]]) -> None:
    """Each source records its rows delivered, once each (a sweep may have
    recorded those of a batch it took for dead), in one transaction."""
    unrecorded = set(
        OutboxItem.objects.select_for_update()
        .filter(pk__in=[item.pk for item, _ in records], status=Status.SENT, recorded_at=None)
        .values_list("pk", flat=True)
    )
    if not unrecorded:
        return
    OutboxItem.objects.filter(pk__in=unrecorded).update(recorded_at=timezone.now())
    by_source: dict[str, list[Delivered]] = defaultdict(list)
    for item, delivered in records:
        if item.pk in unrecorded:
            by_source[item.source].append(delivered)
    for name, deliveries in by_source.items():
        source_for(name).delivered(deliveries)


@transaction.atomic
def _settle_failure(item: OutboxItem, lease: Lease, failure: Failure, attempt: Attempt) -> bool:
    """Record a failed attempt: due again after a backoff, or failed for
    good (permanent, or temporary for too long). True when failed for good."""
    now = timezone.now()
    row = _mine(item, lease).select_for_update().first()
    if row is None:
        return False
    first_failure = row.first_failure_at or now
    too_long = now - first_failure >= settings.HELPDESK_OUTBOX_RETRY_FOR
    final = failure.permanent or too_long
    error = failure.error
    if too_long and not failure.permanent:
        since = f"{first_failure:%Y-%m-%d %H:%M} UTC"
        error = f"Gave up after {row.attempts + 1} attempts since {since}: {error}"
    changes: dict[str, Any] = {
        "attempts": row.attempts + 1,
        "last_attempt_at": now,
        "last_error": error[:2000],
        "lease_token": None,
        "lease_until": None,
        "first_failure_at": first_failure,
    }
    if final:
        changes.update(status=Status.FAILED, failed_at=now)
    else:
        changes.update(status=Status.PENDING, due_at=now + retry_delay(row.attempts + 1))
    OutboxItem.objects.filter(pk=row.pk).update(**changes)
    source = source_for(item.source)
    source.attempt_failed(item.source_id, attempt)
    if final:
        logger.warning("Outbox row %s failed for good: %s", row.pk, error)
        source.failed(item.source_id, error)
    return final


@transaction.atomic
def _settle_skipped(item: OutboxItem, lease: Lease, reason: str) -> None:
    if _mine(item, lease).update(
        status=Status.CANCELLED,
        cancelled_at=timezone.now(),
        last_error=reason[:2000],
        lease_token=None,
        lease_until=None,
    ):
        source_for(item.source).cancelled(item.source_id, reason)


def _settle_postponed(item: OutboxItem, lease: Lease, until: datetime) -> None:
    _mine(item, lease).update(
        status=Status.PENDING, due_at=until, lease_token=None, lease_until=None
    )


def _release(ids: Sequence[int], lease: Lease) -> None:
    OutboxItem.objects.filter(pk__in=ids, status=Status.SENDING, lease_token=lease.token).update(
        status=Status.PENDING, lease_token=None, lease_until=None
    )


def _release_quietly(ids: Sequence[int], lease: Lease) -> None:
    try:
        _release(ids, lease)
    except Exception as exc:  # noqa: BLE001 - the sweep reclaims them when the lease lapses
        logger.warning("Could not release %s outbox rows: %s", len(ids), describe(exc))
        connection.close()


def _renew(items: Sequence[OutboxItem], lease: Lease) -> set[int]:
    """Extend the claim on the rows still ahead; returns those no longer ours."""
    started = clock()
    ids = [item.pk for item in items]
    renewed = OutboxItem.objects.filter(
        pk__in=ids, status=Status.SENDING, lease_token=lease.token
    ).update(lease_until=lease.until())
    lease.renewed(started)
    if renewed == len(ids):
        return set()
    ours = set(
        OutboxItem.objects.filter(pk__in=ids, lease_token=lease.token).values_list("pk", flat=True)
    )
    return set(ids) - ours


def retry_delay(attempts: int) -> timedelta:
    """HELPDESK_OUTBOX_RETRY_BASE, doubled after each failed attempt, at most
    HELPDESK_OUTBOX_RETRY_CAP; each wait is drawn between half and all of
    that, so rows refused together do not come back together."""
    base = settings.HELPDESK_OUTBOX_RETRY_BASE.total_seconds()
    cap = settings.HELPDESK_OUTBOX_RETRY_CAP.total_seconds()
    full = min(base * 2 ** max(attempts - 1, 0), cap)
    return timedelta(seconds=full / 2 + random.uniform(0, full / 2))  # noqa: S311 - not a secret


def _while_leased(write: Callable[[], T], lease: Lease) -> T:
    """Run ``write`` (a short transaction), again on a new connection if the
    database connection was lost, for as long as the lease holds: after
    that the row may be another worker's."""
    pause = 0.2
    while True:
        try:
            return write()
        except (OperationalError, InterfaceError) as exc:
            connection.close()  # the next query opens a new one
            if clock() + pause >= lease.expires:
                raise
            logger.warning("Database connection lost, trying again: %s", describe(exc))
            time.sleep(pause)
            pause = min(pause * 2, 5.0)
