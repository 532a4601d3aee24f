"""The rebuilding period: follow-ups scheduled on resolution, swept by beat,
sent once each, in the customer's morning."""

import logging
import zlib
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import Customer, User
from core import clock
from core.errors import DomainError, RuleViolation
from core.languages import customer_language
from outbox.models import OutboxItem
from outbox.services import outbox_cancel, outbox_enqueue, outbox_item
from recovery.models import Feedback, FollowUp, FollowUpOptOut
from recovery.selectors.followup_plans import step_texts
from recovery.services.followup_delivery import SOURCE as FOLLOWUP_SOURCE
from tickets.models import Status, Ticket
from tickets.models.ticket import REFERENCE_PREFIX
from tickets.services.access import ensure_can_act
from tickets.services.events import record_event
from tickets.services.messages import clean_text

logger = logging.getLogger(__name__)

# Due follow-ups handed to the outbox a transaction; see recovery.tasks.
SWEEP_BATCH = 500
# A rating this low or lower alerts the people who can act (see
# followup_responses) and keeps a ticket rebuilding (tickets_restore_finished).
LOW_RATING = 2


# --- Scheduling ------------------------------------------------------------------


def morning_slot(*, day: date, zone: ZoneInfo, spread_key: int) -> datetime:
    """A time in the customer's morning window on ``day``, spread
    deterministically across the window so a batch does not all go at 09:00."""
    start = settings.HELPDESK_FOLLOWUP_WINDOW_START
    minutes = (settings.HELPDESK_FOLLOWUP_WINDOW_END - start) * 60
    offset = zlib.crc32(str(spread_key).encode()) % max(minutes, 1)
    local = datetime.combine(day, time(start), tzinfo=zone) + timedelta(minutes=offset)
    # Round-trip through UTC: a wall time inside a DST gap becomes a real instant.
    return local.astimezone(ZoneInfo("UTC")).astimezone(zone)


def followups_schedule(ticket: Ticket, actor: User | None) -> list[FollowUp]:
    """Lifecycle hook on resolution: schedule the plan of the mishap's
    severity, each step in the customer's morning; for an answered question,
    the one "How did we do?" check-in of ``QUESTION_STEPS``. Each row keeps
    the text it will send, in the customer's language where we have it
    (English otherwise), and that language. Runs in the resolve's
    transaction, so the rows exist exactly when the ticket is resolved."""
    # Locked, so an unsubscribe that commits meanwhile is seen (see
    # followup_responses.customer_unsubscribe).
    customer = Customer.objects.select_for_update().get(pk=ticket.customer_id)
    if FollowUpOptOut.objects.filter(customer=customer).exists():
        record_event(
            ticket=ticket,
            actor=None,
            action="followups_skipped",
            payload={"reason": "The customer unsubscribed from follow-ups."},
        )
        return []
    texts = step_texts(ticket, customer_language(customer.locale))
    resolved_local = timezone.localtime(ticket.resolved_at or clock.now(), customer.zone)
    rows = [
        FollowUp(
            ticket=ticket,
            customer=customer,
            step_number=number,
            offset_days=text.offset_days,
            subject_template=text.subject,
            body_template=text.body,
            language=text.language,
            due_at=morning_slot(
                day=resolved_local.date() + timedelta(days=text.offset_days),
                zone=customer.zone,
                spread_key=ticket.pk * 100 + number,
            ),
        )
        for number, text in enumerate(texts, start=1)
    ]
    created = FollowUp.objects.bulk_create(rows)
    record_event(
        ticket=ticket,
        actor=actor,
        action="followups_scheduled",
        payload={"due": [row.due_at.isoformat() for row in created]},
    )
    return created


def cancel_pending(followups: Any, reason: str) -> int:
    """Cancel the pending (scheduled or queued) rows of ``followups``, with
    ``reason``, and their outbox rows not yet being sent; returns how many."""
    pending = followups.filter(status__in=[FollowUp.Status.SCHEDULED, FollowUp.Status.QUEUED])
    queued = list(pending.filter(status=FollowUp.Status.QUEUED).values_list("pk", flat=True))
    if queued:
        outbox_cancel(source=FOLLOWUP_SOURCE, source_ids=queued, reason=reason)
    return int(
        pending.update(
            status=FollowUp.Status.CANCELLED, cancelled_at=clock.now(), cancel_reason=reason
        )
    )


def followups_cancel_for_ticket(ticket: Ticket, actor: User | None) -> None:
    """Lifecycle hook on reopen and restore: what was pending will not be sent."""
    reason = (
        "The ticket was reopened."
        if ticket.status == Status.ACKNOWLEDGED
        else ("The rebuilding period was ended.")
    )
    cancelled = cancel_pending(FollowUp.objects.filter(ticket=ticket), reason)
    if cancelled:
        record_event(
            ticket=ticket,
            actor=actor,
            action="followups_cancelled",
            payload={"count": cancelled, "reason": reason},
        )


@transaction.atomic
def followup_cancel(*, followup: FollowUp, actor: User, reason: str) -> FollowUp:
    """An agent cancels one pending follow-up, with a reason."""
    reason = clean_text(reason, field="reason", limit=2_000)
    # The ticket first, then its follow-ups: the order reopen and restore take.
    ticket = (
        Ticket.objects.select_for_update(of=("self",))
        .select_related("queue")
        .get(pk=followup.ticket_id)
    )
    locked = FollowUp.objects.select_for_update().get(pk=followup.pk)
    ensure_can_act(actor, ticket)
    if not locked.is_pending:
        raise RuleViolation(
            f"A {locked.get_status_display().lower()} follow-up cannot be cancelled."
        )
    cancel_pending(FollowUp.objects.filter(pk=locked.pk), reason)
    record_event(
        ticket=ticket,
        actor=actor,
        action="followup_cancelled",
        payload={"followup": locked.pk, "reason": reason},
    )
    locked.refresh_from_db()
    return locked


# --- Sweeping --------------------------------------------------------------------


def followups_claim_due(*, now: datetime | None = None) -> list[int]:
    """Hand the due follow-ups to the outbox, SWEEP_BATCH at a time: each is
    marked queued and gets its outbox row in the same transaction, and the
    outbox sends it (``followup_delivery``). Several sweeps at once each take
    different rows (SKIP LOCKED)."""
    now = now or clock.now()
    with transaction.atomic():
        due = list(
            FollowUp.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("customer")
            .filter(status=FollowUp.Status.SCHEDULED, due_at__lte=now)
            .order_by("due_at", "id")[:SWEEP_BATCH]
        )
        ids = [row.pk for row in due]
        FollowUp.objects.filter(pk__in=ids).update(status=FollowUp.Status.QUEUED, queued_at=now)
        # Due at once by the outbox's clock (no due_at): a sweep run for a later
        # ``now`` must not hold its rows back until that time comes.
        outbox_enqueue(
            [
                outbox_item(
                    source=FOLLOWUP_SOURCE,
                    source_id=row.pk,
                    kind=OutboxItem.Kind.EMAIL,
                    message_id=row.message_id,
                    reference=f"{REFERENCE_PREFIX}{row.ticket_id:06d} follow-up {row.step_number}",
                    recipient=row.customer.email,
                )
                for row in due
            ]
        )
    return ids


# --- The end of the rebuilding period ------------------------------------------------------


def tickets_restore_finished(*, now: datetime | None = None) -> int:
    """Restore rebuilding tickets whose plan is done, the last follow-up sent
    more than the grace period ago, with no low rating since resolution."""
    from tickets.services import ticket_restore

    now = now or clock.now()
    cutoff = now - settings.HELPDESK_RESTORE_GRACE
    candidates = (
        Ticket.objects.filter(status=Status.REBUILDING, followups__isnull=False)
        .exclude(followups__status__in=[FollowUp.Status.SCHEDULED, FollowUp.Status.QUEUED])
        .exclude(followups__sent_at__gt=cutoff)
        .distinct()
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    restored = 0
    for ticket_id in candidates:
        ticket = Ticket.objects.get(pk=ticket_id)
        low = Feedback.objects.filter(
            ticket=ticket, rating__lte=LOW_RATING, created_at__gte=ticket.resolved_at or now
        ).exists()
        if low:
            continue
        sent = ticket.followups.filter(status=FollowUp.Status.SENT).count()
        not_sent = ticket.followups.exclude(status=FollowUp.Status.SENT).count()
        reason = f"The follow-up plan finished ({sent} sent"
        reason += f", {not_sent} not sent)" if not_sent else ")"
        reason += " with no low rating."
        try:
            ticket_restore(ticket=ticket, actor=None, reason=reason)
        except DomainError as exc:  # reopened meanwhile, say
            logger.info("Ticket %s not restored: %s", ticket_id, exc)
            continue
        restored += 1
    return restored
