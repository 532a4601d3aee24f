"""Running the outbox in a test, as the worker would after commit."""

from datetime import timedelta

from django.utils import timezone

from outbox.dispatch import Dispatch, outbox_dispatch
from outbox.models import OutboxItem


def deliver_outbox(*, source: str | None = None, rounds: int = 100) -> Dispatch:
    """Dispatch every due row (of ``source``, if given) until none is left;
    what all the batches did, together."""
    total = Dispatch()
    for _ in range(rounds):
        due = OutboxItem.objects.filter(
            status=OutboxItem.Status.PENDING, due_at__lte=timezone.now()
        )
        if source:
            due = due.filter(source=source)
        ids = list(due.values_list("pk", flat=True)[:500])
        if not ids:
            break
        done = outbox_dispatch(item_ids=ids)
        total.sent += done.sent
        total.retrying.update(done.retrying)
        total.failed.update(done.failed)
        total.skipped += done.skipped
        total.postponed += done.postponed
        total.claimed += done.claimed
        if not done.claimed:
            break
    return total


def make_due(source: str | None = None) -> int:
    """Bring forward the rows waiting for their retry, as if the backoff had passed."""
    waiting = OutboxItem.objects.filter(status=OutboxItem.Status.PENDING)
    if source:
        waiting = waiting.filter(source=source)
    return waiting.update(due_at=timezone.now() - timedelta(seconds=1))


def item_for(source: str, source_id: int) -> OutboxItem:
    return OutboxItem.objects.get(source=source, source_id=source_id)


def deliver_item(source: str, source_id: int) -> Dispatch:
    """Dispatch the one row of ``source_id``, as the task queued on its commit would."""
    return outbox_dispatch(item_ids=[item_for(source, source_id).pk])
