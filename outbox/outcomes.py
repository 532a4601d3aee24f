"""What happened to each outbox row, recorded in a short transaction of its
own: sent (at once, before the next mail goes), recorded delivered by its
source, failed (due again after a backoff, or failed for good), skipped or
postponed."""

import logging
import random
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction

from core import clock
from outbox.failures import Failure
from outbox.leases import Lease
from outbox.models import OutboxItem
from outbox.sources import Attempt, Delivered, source_for

# Delivery's one log, whichever module of it writes (operators filter on it).
logger = logging.getLogger("outbox.dispatch")

Status = OutboxItem.Status


def _mine(item: OutboxItem, lease: Lease) -> Any:
    return OutboxItem.objects.filter(pk=item.pk, status=Status.SENDING, lease_token=lease.token)


def mark_sent(item: OutboxItem) -> datetime:
    """The row is sent, in one statement committed at once, before the next
    mail goes: this is the whole window for a duplicate. Done even if the
    lease lapsed meanwhile, since the mail did go; a worker that took the
    row over after that (one send outlasting the half lease left at the
    last renewal) may have sent it too, so HELPDESK_OUTBOX_LEASE must stay
    well above the slowest send. Its source records the delivery with the
    batch's others (``record_delivered``).

    Plain SQL: this runs once a mail, and the ORM's compiling of the same
    UPDATE cost more CPU than the server's work on it (``docs/performance.md``).

    On PostgreSQL its commit does not wait for the write-ahead log to reach
    the disk (``synchronous_commit`` off for this one transaction): the mark
    is durable a fraction of a second later (``wal_writer_delay``, 200 ms,
    three times at most), and the batch's ``record_delivered`` commit
    flushes it anyway. Only the database server's own crash in that moment
    undoes it, and then the mail is sent again with its Message-ID, as in
    the window above; a worker killed or a connection lost after this
    returns does not. In exchange, the one statement a mail costs no disk
    flush of its own (``docs/performance.md``, "Dispatch, connections kept")."""
    now = clock.now()
    at = connection.ops.adapt_datetimefield_value(now)
    statement = _MARK_SENT_POSTGRESQL if connection.vendor == "postgresql" else _MARK_SENT
    with connection.cursor() as cursor:
        cursor.execute(statement, [at, at, item.pk])
    # No row updated: an earlier try committed and we did not hear back; it
    # is recorded all the same (recorded_at makes that once).
    return now


_MARK_SENT_SET = (
    "UPDATE outbox_outboxitem SET status = 'sent', sent_at = %s,"
    " last_attempt_at = %s, attempts = attempts + 1, last_error = '',"
    " first_failure_at = NULL, lease_token = NULL, lease_until = NULL"
)
_MARK_SENT_WHERE = " WHERE id = %s AND status IN ('sending', 'pending')"
_MARK_SENT = _MARK_SENT_SET + _MARK_SENT_WHERE
# set_config(..., true) lasts until the end of the transaction, here the
# statement's own, so it governs this commit and no other.
_MARK_SENT_POSTGRESQL = (
    _MARK_SENT_SET
    + " FROM (SELECT set_config('synchronous_commit', 'off', true)) AS commit_mode"
    + _MARK_SENT_WHERE
)


@transaction.atomic
def record_delivered(records: Sequence[tuple[OutboxItem, Delivered]]) -> None:
    """Each source records its rows delivered, once each (a sweep may have
    recorded those of a batch it took for dead), in one transaction."""
    unrecorded = set(
        OutboxItem.objects.select_for_update()
        .filter(pk__in=[item.pk for item, _ in records], status=Status.SENT, recorded_at=None)
        .values_list("pk", flat=True)
    )
    if not unrecorded:
        return
    OutboxItem.objects.filter(pk__in=unrecorded).update(recorded_at=clock.now())
    tell_sources((item.source, delivered) for item, delivered in records if item.pk in unrecorded)


def tell_sources(deliveries: Iterable[tuple[str, Delivered]]) -> None:
    """Hand each source (by name) its deliveries, in one call a source: the
    batch's end and the sweep's recording of a stopped worker's rows alike.
    The caller has marked the rows recorded in its transaction, so each
    delivery is told once."""
    by_source: dict[str, list[Delivered]] = defaultdict(list)
    for name, delivered in deliveries:
        by_source[name].append(delivered)
    for name, grouped in by_source.items():
        source_for(name).delivered(grouped)


@transaction.atomic
def settle_failure(item: OutboxItem, lease: Lease, failure: Failure, attempt: Attempt) -> bool:
    """Record a failed attempt: due again after a backoff, or failed for
    good (permanent, or temporary for too long). True when failed for good."""
    now = clock.now()
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
def settle_skipped(item: OutboxItem, lease: Lease, reason: str) -> None:
    if _mine(item, lease).update(
        status=Status.CANCELLED,
        cancelled_at=clock.now(),
        last_error=reason[:2000],
        lease_token=None,
        lease_until=None,
    ):
        source_for(item.source).cancelled(item.source_id, reason)


def settle_postponed(item: OutboxItem, lease: Lease, until: datetime) -> None:
    _mine(item, lease).update(
        status=Status.PENDING, due_at=until, lease_token=None, lease_until=None
    )


def retry_delay(attempts: int) -> timedelta:
    """HELPDESK_OUTBOX_RETRY_BASE, doubled after each failed attempt, at most
    HELPDESK_OUTBOX_RETRY_CAP; each wait is drawn between half and all of
    that, so rows refused together do not come back together."""
    base = settings.HELPDESK_OUTBOX_RETRY_BASE.total_seconds()
    cap = settings.HELPDESK_OUTBOX_RETRY_CAP.total_seconds()
    full = min(base * 2 ** max(attempts - 1, 0), cap)
    return timedelta(seconds=full / 2 + random.uniform(0, full / 2))  # noqa: S311 - not a secret
