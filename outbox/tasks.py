"""The outbox's Celery tasks: each takes ids and calls one service. Retries
are not the tasks' business: a failed row is due again at its backoff, and
beat's sweep hands it to a worker."""

from celery import shared_task
from django.conf import settings

from outbox.dispatch import outbox_dispatch
from outbox.services import outbox_sweep


@shared_task(name="outbox.dispatch")
def outbox_dispatch_task(item_ids: list[int] | None = None) -> int:
    """Deliver ``item_ids`` (or any due rows). Without ids it goes on to the
    next batch while it finds full ones, so a backlog keeps its workers busy
    between sweeps; rows a long batch had no time for go to a new task."""
    dispatch = outbox_dispatch(item_ids=item_ids)
    if dispatch.released:
        outbox_dispatch_task.delay(dispatch.released)
    elif item_ids is None and dispatch.claimed >= settings.HELPDESK_OUTBOX_BATCH:
        outbox_dispatch_task.delay(None)
    return len(dispatch.sent)


@shared_task(name="outbox.sweep")
def outbox_sweep_task() -> int:
    return outbox_sweep().tasks
