"""Writing to the outbox, and the operations around delivery: the sweep that
reclaims lapsed claims and queues what is due, an admin's retry, a source's
cancel. Delivery itself is in ``outbox.dispatch``."""

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import transaction

from core import clock
from outbox.models import OutboxItem
from outbox.outcomes import tell_sources
from outbox.sources import Attempt, Delivered, source_for

logger = logging.getLogger(__name__)

Status = OutboxItem.Status


def outbox_item(
    *,
    source: str,
    source_id: int,
    kind: str,
    message_id: str,
    reference: str = "",
    recipient: str = "",
    due_at: datetime | None = None,
) -> OutboxItem:
    """An unsaved row, for ``outbox_enqueue``."""
    return OutboxItem(
        source=source,
        source_id=source_id,
        kind=kind,
        message_id=message_id,
        reference=reference[:200],
        recipient=recipient[:500],
        due_at=due_at or clock.now(),
    )


def outbox_enqueue(items: Sequence[OutboxItem]) -> list[OutboxItem]:
    """Write rows to deliver, inside the transaction of the change that
    causes them, so they exist exactly when it commits; once it has, what is
    already due is handed to workers, a batch a task. A lost task costs only
    time: the sweep queues whatever is due."""
    created = OutboxItem.objects.bulk_create(items)
    now = clock.now()
    due = [item.pk for item in created if item.due_at <= now]
    if due:
        # robust: the commit has happened, and the sweep covers a broker that is down.
        transaction.on_commit(lambda: dispatch_soon(due), robust=True)
    return created


def dispatch_soon(item_ids: Sequence[int]) -> None:
    from outbox.tasks import outbox_dispatch_task

    size = settings.HELPDESK_OUTBOX_BATCH
    for start in range(0, len(item_ids), size):
        outbox_dispatch_task.delay(list(item_ids[start : start + size]))


def outbox_cancel(*, source: str, source_ids: Sequence[int], reason: str) -> int:
    """Drop the rows of ``source_ids`` still waiting to be sent; one being
    sent right now goes (the source records it as sent). Inside the
    source's own transaction."""
    return OutboxItem.objects.filter(
        source=source, source_id__in=source_ids, status=Status.PENDING
    ).update(status=Status.CANCELLED, cancelled_at=clock.now(), last_error=reason[:2000])


@transaction.atomic
def outbox_retry(*, item: OutboxItem) -> OutboxItem:
    """An admin sends a failed or cancelled row again, now, with a fresh run
    of retries; its source takes it back as waiting to be sent."""
    locked = OutboxItem.objects.select_for_update().get(pk=item.pk)
    if locked.status not in (Status.FAILED, Status.CANCELLED):
        return locked
    OutboxItem.objects.filter(pk=locked.pk).update(
        status=Status.PENDING,
        due_at=clock.now(),
        first_failure_at=None,
        failed_at=None,
        cancelled_at=None,
    )
    source_for(locked.source).requeued(locked.source_id)
    transaction.on_commit(lambda: dispatch_soon([locked.pk]), robust=True)
    locked.refresh_from_db()
    return locked


@dataclass(frozen=True)
class Sweep:
    reclaimed: int
    due: int
    tasks: int
    recorded: int = 0


def outbox_sweep(*, now: datetime | None = None) -> Sweep:
    """Beat's sweep: rows whose worker died (their lease lapsed) are waiting
    again, the deliveries it made and did not live to record are recorded,
    and workers are sent to whatever is due, including rows whose task was
    lost with a broker that restarted. A task that finds its rows
    taken does nothing, so queuing one too many costs little; at most
    HELPDESK_OUTBOX_SWEEP_TASKS are queued a sweep, and each task goes on to
    the next batch while it finds full ones."""
    from outbox.tasks import outbox_dispatch_task

    now = now or clock.now()
    reclaimed = OutboxItem.objects.filter(status=Status.SENDING, lease_until__lt=now).update(
        status=Status.PENDING, lease_token=None, lease_until=None
    )
    if reclaimed:
        logger.warning("Reclaimed %s outbox rows whose worker stopped", reclaimed)
    size = settings.HELPDESK_OUTBOX_BATCH
    most = settings.HELPDESK_OUTBOX_SWEEP_TASKS
    due = OutboxItem.objects.filter(status=Status.PENDING, due_at__lte=now)[: size * most].count()
    tasks = min(-(-due // size), most)
    for _ in range(tasks):
        outbox_dispatch_task.delay(None)
    # Last, and on its own: a source's hook that fails must not stop the rest.
    try:
        recorded = _record_stray_deliveries(now)
    except Exception:
        logger.exception("Could not record the deliveries of a worker that stopped")
        recorded = 0
    return Sweep(reclaimed=reclaimed, due=due, tasks=tasks, recorded=recorded)


@transaction.atomic
def _record_stray_deliveries(now: datetime) -> int:
    """Rows a worker marked sent and died before its sources recorded them
    (it records a batch's at its end, well inside a lease)."""
    stray = list(
        OutboxItem.objects.select_for_update(skip_locked=True)
        .filter(
            status=Status.SENT,
            recorded_at=None,
            sent_at__lt=now - settings.HELPDESK_OUTBOX_LEASE,
        )
        .order_by("sent_at")[:1000]
    )
    if not stray:
        return 0
    OutboxItem.objects.filter(pk__in=[item.pk for item in stray]).update(recorded_at=now)
    tell_sources((item.source, _delivered(item)) for item in stray)
    logger.warning("Recorded %s deliveries of a worker that stopped", len(stray))
    return len(stray)


def _delivered(item: OutboxItem) -> Delivered:
    assert item.sent_at is not None  # noqa: S101 - status sent has its time (a constraint)
    return Delivered(item.source_id, item.sent_at, Attempt())
