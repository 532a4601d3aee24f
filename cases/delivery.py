"""Case emails through the outbox (``outbox/``): a row written with the
CaseEmail, composed when it is sent, the CaseEmail's delivery state kept by
the hooks below in the outbox's own transactions."""

import logging
from collections.abc import Mapping, Sequence

from django.db.models import F

from cases.models import CaseEmail
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
from tickets.models import Alert, Ticket

logger = logging.getLogger(__name__)

SOURCE = "cases.email"


def case_email_queue(email: CaseEmail) -> None:
    """For use inside the transaction that writes ``email``."""
    outbox_enqueue(
        [
            outbox_item(
                source=SOURCE,
                source_id=email.pk,
                kind=OutboxItem.Kind.EMAIL,
                message_id=email.message_id,
                reference=f"{email.get_kind_display()} {email.pk}",
                recipient=email.customer.email,
            )
        ]
    )


def _compose(email_ids: Sequence[int]) -> Mapping[int, Composed]:
    from cases.emails import LINKED_CASES, build_case_email

    composed: dict[int, Composed] = {}
    emails = CaseEmail.objects.select_related("customer", "ticket__customer").filter(
        pk__in=email_ids, delivery_status=CaseEmail.Delivery.PENDING
    )
    for email in emails:
        if email.ticket is not None:
            tickets = [email.ticket]
        else:  # the links email: one query each, a rare mail
            tickets = list(
                Ticket.objects.filter(customer=email.customer)
                .select_related("customer")
                .order_by("-created_at", "-id")[:LINKED_CASES]
            )
        composed[email.pk] = email_or_unsendable(
            build_case_email, email, tickets, what=f"Case email {email.pk}"
        )
    return composed


def _delivered(deliveries: Sequence[Delivered]) -> None:
    CaseEmail.objects.filter(pk__in=[d.source_id for d in deliveries]).update(
        delivery_status=CaseEmail.Delivery.SENT,
        delivered_at=delivered_at(SOURCE),
        attempts=F("attempts") + 1,
        last_error="",
    )


def _attempt_failed(email_id: int, attempt: Attempt) -> None:
    CaseEmail.objects.filter(pk=email_id).update(
        attempts=F("attempts") + 1, last_error=attempt.error[:2000]
    )


def _failed(email_id: int, error: str) -> None:
    """A customer email that failed: whoever holds its ticket is told (the
    supervisors when nobody does), as for the conversation's emails; the
    links email, which has no ticket, is logged for the operators."""
    from tickets.services.alerts import alert_raise

    CaseEmail.objects.filter(pk=email_id).update(
        delivery_status=CaseEmail.Delivery.FAILED, last_error=error[:2000]
    )
    email = CaseEmail.objects.select_related("customer", "ticket__assignee").get(pk=email_id)
    ticket = email.ticket
    if ticket is None:
        logger.error("Case email %s could not be delivered: %s", email_id, error)
        return
    alert_raise(
        ticket=ticket,
        kind=Alert.Kind.EMAIL_FAILED,
        detail=(
            f"The {email.get_kind_display().lower()} email to {email.customer.name} "
            f"<{email.customer.email}> could not be delivered ({error}). Check their "
            "address, or reach them another way."
        ),
        recipients=[ticket.assignee] if ticket.assignee else None,
    )


def _cancelled(email_id: int, reason: str = "") -> None:
    CaseEmail.objects.filter(pk=email_id).update(delivery_status=CaseEmail.Delivery.CANCELLED)


def _requeued(email_id: int) -> None:
    CaseEmail.objects.filter(pk=email_id).update(delivery_status=CaseEmail.Delivery.PENDING)


CASE_EMAILS = Source(
    name=SOURCE,
    compose=_compose,
    delivered=_delivered,
    attempt_failed=_attempt_failed,
    failed=_failed,
    cancelled=_cancelled,
    requeued=_requeued,
)
