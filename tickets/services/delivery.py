"""Sending a public message to the customer, once.

A worker claims the message with a conditional UPDATE (so two workers, or a
retry racing a duplicate delivery, never both send), sends outside any
transaction, then marks it sent. A claim left by a dead worker expires.
"""

import logging
from datetime import datetime, timedelta

from django.db.models import F, Q
from django.utils import timezone

from tickets.emails import build_ticket_email
from tickets.models import Message

logger = logging.getLogger(__name__)

CLAIM_TIMEOUT = timedelta(minutes=10)
# After this many refusals by the mail server the message is marked failed.
MAX_ATTEMPTS = 5
# A message pending this long after its last attempt (or creation) lost its
# task (a broker restart): queue it again. Longer than any retry's wait, so a
# message waiting for its retry is left alone.
REQUEUE_AFTER = timedelta(minutes=10)


class DeliveryFailed(Exception):
    """The mail server could not be reached or refused for now: retry."""


class DeliveryImpossible(Exception):
    """The message can never be sent as it is (an address no server accepts)."""


def message_deliver(*, message_id: int) -> bool:
    """Email the message to the customer. Returns False when there is nothing
    to do: already sent, failed for good, or being sent by another worker.
    Raises ``DeliveryFailed`` when the mail server refused; on the final
    attempt (``MAX_ATTEMPTS``) the message is then marked failed, to be shown
    to the agent."""
    now = timezone.now()
    claimable = Q(delivery_status=Message.Delivery.PENDING) | Q(
        delivery_status=Message.Delivery.SENDING, delivery_claimed_at__lt=now - CLAIM_TIMEOUT
    )
    claimed = Message.objects.filter(claimable, pk=message_id).update(
        delivery_status=Message.Delivery.SENDING,
        delivery_claimed_at=now,
        delivery_attempts=F("delivery_attempts") + 1,
    )
    if not claimed:
        return False
    message = Message.objects.select_related("ticket__customer", "author").get(pk=message_id)
    final_attempt = message.delivery_attempts >= MAX_ATTEMPTS
    try:
        build_ticket_email(message).send()
    except OSError as exc:  # smtplib's errors are OSErrors, as are refused connections
        # The claim time stays as the time of the last attempt (see REQUEUE_AFTER).
        Message.objects.filter(pk=message_id).update(
            delivery_status=Message.Delivery.FAILED if final_attempt else Message.Delivery.PENDING,
            delivery_error=f"{type(exc).__name__}: {exc}"[:2000],
        )
        raise DeliveryFailed(str(exc)) from exc
    except Exception as exc:  # a header Django cannot encode, a broken template
        logger.exception("Message %s cannot be emailed", message_id)
        Message.objects.filter(pk=message_id).update(
            delivery_status=Message.Delivery.FAILED,
            delivery_error=f"{type(exc).__name__}: {exc}"[:2000],
        )
        raise DeliveryImpossible(str(exc)) from exc
    Message.objects.filter(pk=message_id).update(
        delivery_status=Message.Delivery.SENT, delivered_at=timezone.now(), delivery_error=""
    )
    return True


def messages_requeue_stalled(*, now: datetime | None = None) -> list[int]:
    """Ids of messages whose send task was lost, for beat to queue again."""
    now = now or timezone.now()
    quiet_since = now - REQUEUE_AFTER
    pending = Q(delivery_status=Message.Delivery.PENDING) & (
        Q(delivery_claimed_at__lt=quiet_since)
        | Q(delivery_claimed_at=None, created_at__lt=quiet_since)
    )
    stalled = Message.objects.filter(
        pending
        | Q(delivery_status=Message.Delivery.SENDING, delivery_claimed_at__lt=now - CLAIM_TIMEOUT)
    )
    return list(stalled.values_list("pk", flat=True)[:1000])
