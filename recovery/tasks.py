"""Celery tasks of the recovery app: each takes ids and calls one service."""

import logging

from celery import shared_task
from celery.app.task import Task

from core.delivery import backoff_seconds
from recovery.services.followups import MAX_ATTEMPTS as FOLLOWUP_MAX_ATTEMPTS
from recovery.services.followups import (
    SWEEP_BATCH,
    FollowUpSendFailed,
    followup_deliver,
    followups_claim_due,
    followups_deliver,
    tickets_restore_finished,
)
from recovery.services.idempotency import idempotency_keys_purge
from recovery.services.webhooks import (
    MAX_ATTEMPTS,
    WebhookFailed,
    webhook_deliver,
    webhooks_requeue_stalled,
)

logger = logging.getLogger(__name__)

# At most this many batches of SWEEP_BATCH per beat run (10,000 a minute).
SWEEPS_PER_RUN = 20


def webhook_backoff(retries: int) -> int:
    """10 s, 20 s, 40 s ... at most 20 min: for webhooks and follow-ups."""
    return backoff_seconds(retries, base=10, cap=1200)


@shared_task(bind=True, name="recovery.webhook_deliver", max_retries=MAX_ATTEMPTS - 1)
def webhook_deliver_task(self: Task, delivery_id: int) -> None:
    try:
        webhook_deliver(delivery_id=delivery_id)
    except WebhookFailed as exc:
        if self.request.retries < (self.max_retries or 0):
            raise self.retry(exc=exc, countdown=webhook_backoff(self.request.retries)) from exc
        logger.warning("Webhook delivery %s failed for good: %s", delivery_id, exc)


@shared_task(name="recovery.requeue_stalled_webhooks")
def requeue_stalled_webhooks() -> int:
    ids = webhooks_requeue_stalled()
    for delivery_id in ids:
        webhook_deliver_task.delay(delivery_id)
    return len(ids)


@shared_task(name="recovery.purge_idempotency_keys")
def purge_idempotency_keys() -> int:
    return idempotency_keys_purge()


@shared_task(name="recovery.sweep_followups")
def sweep_followups() -> int:
    """Queue every due follow-up, a batch at a time (each batch its own short
    transaction): one batch a minute would cap sending at 500 a minute. Bounded,
    so a huge backlog is spread over a few runs instead of one endless one."""
    queued = 0
    for _ in range(SWEEPS_PER_RUN):
        batch = len(followups_claim_due())
        queued += batch
        if batch < SWEEP_BATCH:
            break
    return queued


@shared_task(bind=True, name="recovery.followup_send", max_retries=FOLLOWUP_MAX_ATTEMPTS - 1)
def followup_send_task(self: Task, followup_id: int) -> None:
    try:
        followup_deliver(followup_id=followup_id)
    except FollowUpSendFailed as exc:
        if self.request.retries < (self.max_retries or 0):
            raise self.retry(exc=exc, countdown=webhook_backoff(self.request.retries)) from exc
        logger.warning("Follow-up %s could not be sent: %s", followup_id, exc)


@shared_task(bind=True, name="recovery.followup_send_batch", max_retries=FOLLOWUP_MAX_ATTEMPTS - 1)
def followup_send_batch_task(self: Task, followup_ids: list[int]) -> None:
    """A batch of the sweep's rows over one SMTP connection. A mail that
    failed is retried on its own; rows the batch did not reach go to another
    task, after a backoff if the mail server was unreachable. Should this task
    give up, its rows are still queued and the sweep queues them again."""
    dispatch = followups_deliver(followup_ids=followup_ids)
    for followup_id in dispatch.failed:
        followup_send_task.apply_async((followup_id,), countdown=webhook_backoff(0))
    if not dispatch.left:
        return
    if not dispatch.unreachable:
        followup_send_batch_task.delay(dispatch.left)
    elif self.request.retries < (self.max_retries or 0):
        raise self.retry(args=(dispatch.left,), countdown=webhook_backoff(self.request.retries))
    else:
        logger.warning("%s follow-ups left to the sweep: no mail server", len(dispatch.left))


@shared_task(name="recovery.restore_finished_tickets")
def restore_finished_tickets() -> int:
    return tickets_restore_finished()
