"""Public messages to the customer, through the outbox (``outbox/``): a row
written with the message, composed when it is sent, and the message's
delivery state kept by the hooks below in the outbox's own transactions."""

from collections.abc import Mapping, Sequence

from django.db.models import F

from outbox.models import OutboxItem
from outbox.services import outbox_enqueue, outbox_item
from outbox.sources import (
    Attempt,
    Composed,
    Delivered,
    Source,
    delivered_at,
    email_or_unsendable,
)
from tickets.emails import build_ticket_email
from tickets.models import Alert, Message

SOURCE = "tickets.message"


def message_queue_email(message: Message) -> None:
    """Email a public message to the customer once the transaction commits.
    For use inside the service's transaction that writes the message."""
    ticket = message.ticket
    outbox_enqueue(
        [
            outbox_item(
                source=SOURCE,
                source_id=message.pk,
                kind=OutboxItem.Kind.EMAIL,
                message_id=message.email_message_id or "",
                reference=f"{ticket.reference} message {message.pk}",
                recipient=ticket.customer.email,
            )
        ]
    )


def _compose(message_ids: Sequence[int]) -> Mapping[int, Composed]:
    messages = Message.objects.select_related("ticket__customer", "author").filter(
        pk__in=message_ids, delivery_status=Message.Delivery.PENDING
    )
    composed: dict[int, Composed] = {}
    for message in messages:
        composed[message.pk] = email_or_unsendable(
            build_ticket_email, message, what=f"Message {message.pk}"
        )
    return composed


def _delivered(deliveries: Sequence[Delivered]) -> None:
    Message.objects.filter(pk__in=[d.source_id for d in deliveries]).update(
        delivery_status=Message.Delivery.SENT,
        delivered_at=delivered_at(SOURCE),
        delivery_attempts=F("delivery_attempts") + 1,
        delivery_error="",
    )


def _attempt_failed(message_id: int, attempt: Attempt) -> None:
    Message.objects.filter(pk=message_id).update(
        delivery_attempts=F("delivery_attempts") + 1, delivery_error=attempt.error[:2000]
    )


def _failed(message_id: int, error: str) -> None:
    """Shown on the message, and the ticket's assignee told: the customer
    has not heard what the agent wrote."""
    from tickets.services.alerts import alert_raise

    Message.objects.filter(pk=message_id).update(
        delivery_status=Message.Delivery.FAILED, delivery_error=error[:2000]
    )
    message = Message.objects.select_related("ticket__customer", "ticket__assignee").get(
        pk=message_id
    )
    ticket = message.ticket
    alert_raise(
        ticket=ticket,
        kind=Alert.Kind.EMAIL_FAILED,
        detail=(
            f"The email to {ticket.customer.name} <{ticket.customer.email}> could not be "
            f"delivered ({error}). Check their address, or reach them another way."
        ),
        # Nobody holds the ticket: the supervisors are told.
        recipients=[ticket.assignee] if ticket.assignee else None,
    )


def _requeued(message_id: int) -> None:
    Message.objects.filter(pk=message_id, public=True).update(
        delivery_status=Message.Delivery.PENDING
    )


MESSAGES = Source(
    name=SOURCE,
    compose=_compose,
    delivered=_delivered,
    attempt_failed=_attempt_failed,
    failed=_failed,
    requeued=_requeued,
)
