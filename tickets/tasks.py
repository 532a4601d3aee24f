"""Celery tasks of the ticket flow: each takes ids and calls one service."""

import logging

from celery import shared_task
from celery.app.task import Task

from core.delivery import backoff_seconds as core_backoff
from tickets.services.alerts import MAX_ATTEMPTS as ALERT_MAX_ATTEMPTS
from tickets.services.alerts import alert_deliver, alerts_requeue_stalled
from tickets.services.delivery import (
    MAX_ATTEMPTS,
    DeliveryFailed,
    DeliveryImpossible,
    message_deliver,
    messages_requeue_stalled,
)
from tickets.services.timeliness import tickets_close_quiet, timeliness_check

logger = logging.getLogger(__name__)


def backoff_seconds(retries: int) -> int:
    """30 s, 1 min, 2 min, 4 min... at most 15 min."""
    return core_backoff(retries, base=30, cap=900)


@shared_task(bind=True, name="tickets.message_send_email", max_retries=MAX_ATTEMPTS - 1)
def message_send_email(self: Task, message_id: int) -> None:
    try:
        message_deliver(message_id=message_id)
    except DeliveryImpossible as exc:
        logger.warning("Message %s cannot be emailed as it is: %s", message_id, exc)
    except DeliveryFailed as exc:
        if self.request.retries < (self.max_retries or 0):
            raise self.retry(exc=exc, countdown=backoff_seconds(self.request.retries)) from exc
        logger.warning("Message %s could not be emailed: %s", message_id, exc)


@shared_task(bind=True, name="tickets.alert_send_email", max_retries=ALERT_MAX_ATTEMPTS - 1)
def alert_send_email(self: Task, alert_id: int) -> None:
    try:
        alert_deliver(alert_id=alert_id)
    except OSError as exc:
        if self.request.retries < (self.max_retries or 0):
            raise self.retry(exc=exc, countdown=backoff_seconds(self.request.retries)) from exc
        logger.warning("Alert %s could not be emailed: %s", alert_id, exc)


@shared_task(name="tickets.check_timeliness")
def check_timeliness() -> int:
    return timeliness_check()


@shared_task(name="tickets.close_quiet_tickets")
def close_quiet_tickets() -> int:
    return tickets_close_quiet()


@shared_task(name="tickets.requeue_stalled_messages")
def requeue_stalled_messages() -> int:
    """Queue again the customer emails and staff alerts whose tasks were lost."""
    message_ids = messages_requeue_stalled()
    for message_id in message_ids:
        message_send_email.delay(message_id)
    alert_ids = alerts_requeue_stalled()
    for alert_id in alert_ids:
        alert_send_email.delay(alert_id)
    return len(message_ids) + len(alert_ids)
