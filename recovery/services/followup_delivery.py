"""Follow-ups through the outbox (``outbox/``): what each says is composed as
it goes out, from what is true then; one sent in the customer's night waits
for their morning; the follow-up's own state is kept by the hooks below, in
the outbox's transactions."""

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from core import clock
from outbox.sources import (
    Attempt,
    Composed,
    Delivered,
    Postpone,
    Source,
    delivered_at,
    email_or_unsendable,
)
from recovery.models import FollowUp
from recovery.services.followup_emails import build_followup_email, email_contexts
from tickets.models import Alert, Ticket
from tickets.services.alerts import alert_raise
from tickets.services.events import record_event

SOURCE = "recovery.followup"


def _compose(followup_ids: Sequence[int]) -> Mapping[int, Composed]:
    """The queued follow-ups among ``followup_ids`` (one cancelled meanwhile
    is left out, so not sent), read with everything their emails say in a
    fixed number of queries."""
    followups = list(
        FollowUp.objects.select_related("customer", "ticket__customer", "ticket__assignee").filter(
            pk__in=followup_ids, status=FollowUp.Status.QUEUED
        )
    )
    contexts = email_contexts(followups)
    now = clock.now()
    composed: dict[int, Composed] = {}
    for followup in followups:
        morning = _next_morning(followup, now)
        if morning is not None and settings.HELPDESK_FOLLOWUP_SEND_ONLY_IN_WINDOW:
            composed[followup.pk] = Postpone(morning)
            continue
        composed[followup.pk] = email_or_unsendable(
            build_followup_email, followup, contexts[followup.pk], what=f"Follow-up {followup.pk}"
        )
    return composed


def _next_morning(followup: FollowUp, now: datetime) -> datetime | None:
    """None in the customer's morning window; otherwise a slot in their next
    one, so a follow-up whose moment passed while workers were down or busy
    does not arrive at night."""
    from recovery.services.followups import morning_slot

    zone = followup.customer.zone
    local = timezone.localtime(now, zone)
    start, end = settings.HELPDESK_FOLLOWUP_WINDOW_START, settings.HELPDESK_FOLLOWUP_WINDOW_END
    if start <= local.hour < end:
        return None
    day = local.date() if local.hour < start else local.date() + timedelta(days=1)
    return morning_slot(day=day, zone=zone, spread_key=followup.pk)


def _delivered(deliveries: Sequence[Delivered]) -> None:
    # Recorded as sent even if cancelled during the send: the mail did go.
    FollowUp.objects.filter(
        pk__in=[d.source_id for d in deliveries],
        status__in=[FollowUp.Status.QUEUED, FollowUp.Status.CANCELLED],
    ).update(
        status=FollowUp.Status.SENT,
        sent_at=delivered_at(SOURCE),
        attempts=F("attempts") + 1,
        last_error="",
    )


def _attempt_failed(followup_id: int, attempt: Attempt) -> None:
    FollowUp.objects.filter(pk=followup_id).update(
        attempts=F("attempts") + 1, last_error=attempt.error[:2000]
    )


def _failed(followup_id: int, error: str) -> None:
    """Failed for good: on the ticket's record, and its assignee told."""
    # The ticket first, the order reopen and restore take (they lock it, then
    # cancel its follow-ups): the other order could deadlock with them.
    ticket_id = FollowUp.objects.filter(pk=followup_id).values_list("ticket_id", flat=True)
    Ticket.objects.select_for_update(of=("self",)).filter(pk__in=ticket_id).first()
    failed = FollowUp.objects.filter(pk=followup_id, status=FollowUp.Status.QUEUED).update(
        status=FollowUp.Status.FAILED, last_error=error[:2000]
    )
    if not failed:  # cancelled meanwhile: it stays cancelled
        return
    followup = FollowUp.objects.select_related("ticket__customer", "ticket__assignee").get(
        pk=followup_id
    )
    ticket = followup.ticket
    # A refusal for good now fails at its first try.
    tries = "1 try" if followup.attempts == 1 else f"{followup.attempts} tries"
    record_event(
        ticket=ticket,
        actor=None,
        action="followup_failed",
        payload={"followup": followup.pk, "error": error},
    )
    alert_raise(
        ticket=ticket,
        kind=Alert.Kind.FOLLOWUP_FAILED,
        detail=(
            f"Follow-up {followup.step_number} to {ticket.customer.name} could not be sent "
            f"after {tries} ({error}). Check their email address, or write "
            "to them yourself."
        ),
        recipients=[ticket.assignee] if ticket.assignee else None,
    )


def _requeued(followup_id: int) -> None:
    FollowUp.objects.filter(pk=followup_id, status=FollowUp.Status.FAILED).update(
        status=FollowUp.Status.QUEUED, queued_at=clock.now()
    )


FOLLOWUPS = Source(
    name=SOURCE,
    compose=_compose,
    delivered=_delivered,
    attempt_failed=_attempt_failed,
    failed=_failed,
    requeued=_requeued,
)
