"""Celery tasks of the recovery app: each takes ids and calls one service."""

import logging

from celery import shared_task
from celery.app.task import Task

from recovery.services.idempotency import idempotency_keys_purge
from recovery.services.webhooks import (
    MAX_ATTEMPTS,
    WebhookFailed,
    webhook_deliver,
    webhooks_requeue_stalled,
)

logger = logging.getLogger(__name__)


def webhook_backoff(retries: int) -> int:
    """10 s, 20 s, 40 s ... 20 min at most: within the broker's visibility timeout."""
    return int(min(10 * 2**retries, 1200))


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
