"""The rebuilding period: follow-ups scheduled on resolution, swept by beat,
sent once each, in the customer's morning."""

import logging
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from time import monotonic as time_monotonic
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.mail import get_connection
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from accounts.models import Customer, User
from core.delivery import claimable
from core.errors import DomainError, RuleViolation
from core.languages import customer_language
from recovery.models import Feedback, FollowUp, FollowUpOptOut
from recovery.services.followup_emails import build_followup_email, email_contexts
from recovery.services.followups_plans import step_texts
from tickets.models import Alert, Status, Ticket
from tickets.services.access import ensure_can_act
from tickets.services.alerts import alert_raise
from tickets.services.events import record_event
from tickets.services.messages import clean_text

logger = logging.getLogger(__name__)

QUEUED_TIMEOUT = timedelta(minutes=15)  # a queued row older than this lost its task
CLAIM_TIMEOUT = timedelta(minutes=10)
MAX_ATTEMPTS = 5
SWEEP_BATCH = 500
# Follow-ups per send task: one SMTP connection and four reads for the lot,
# small enough that several workers share a sweep's rows.
SEND_BATCH = 50
# A batch claims no new row after this many seconds and hands the rest to a
# new task: well inside Celery's soft time limit, whatever the mail server's pace.
BATCH_TIME_LIMIT = 60.0
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
    resolved_local = timezone.localtime(ticket.resolved_at or timezone.now(), customer.zone)
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
    ``reason``; returns how many."""
    return int(
        followups.filter(status__in=[FollowUp.Status.SCHEDULED, FollowUp.Status.QUEUED]).update(
            status=FollowUp.Status.CANCELLED, cancelled_at=timezone.now(), cancel_reason=reason
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


# --- Sweeping and sending -----------------------------------------------------------


def followups_claim_due(*, now: datetime | None = None) -> list[int]:
    """Mark due rows queued and queue their send tasks on commit, SEND_BATCH
    rows a task. Several sweeps at once each take different rows (SKIP
    LOCKED); a row queued long ago whose task was lost (a broker restart) is
    queued again."""
    from recovery.tasks import followup_send_batch_task

    now = now or timezone.now()
    with transaction.atomic():
        due = list(
            FollowUp.objects.select_for_update(skip_locked=True)
            .filter(
                Q(status=FollowUp.Status.SCHEDULED, due_at__lte=now)
                | Q(status=FollowUp.Status.QUEUED, queued_at__lt=now - QUEUED_TIMEOUT)
            )
            .order_by("due_at", "id")
            .values_list("pk", flat=True)[:SWEEP_BATCH]
        )
        FollowUp.objects.filter(pk__in=due).update(status=FollowUp.Status.QUEUED, queued_at=now)
        for start in range(0, len(due), SEND_BATCH):
            # celery-types does not know delay_on_commit (Celery 5.4) yet.
            followup_send_batch_task.delay_on_commit(  # type: ignore[attr-defined]
                due[start : start + SEND_BATCH]
            )
    return due


class FollowUpSendFailed(Exception):
    pass


@dataclass
class Dispatch:
    """What a batch did with each of its ids. An id in none of the lists was
    skipped: sent, cancelled or claimed by someone else already, or put off
    to the customer's morning."""

    sent: list[int] = field(default_factory=list)
    # Refused or broken off mid-send: the failure is recorded on the row, which
    # stays queued (or failed, after MAX_ATTEMPTS) for a retry on its own.
    failed: dict[int, str] = field(default_factory=dict)
    # Not claimed, so no attempt spent: still queued for another task.
    left: list[int] = field(default_factory=list)
    # Why ``left`` is not empty: the mail server could not be reached (retry
    # later), rather than the batch using up its time (go on at once).
    unreachable: bool = False


def followups_deliver(*, followup_ids: Sequence[int]) -> Dispatch:
    """Send a batch of follow-ups over one SMTP connection, each once: each
    row is claimed with a conditional UPDATE just before its send (a row held
    by another task, or no longer queued, is skipped), sent outside any
    transaction with its stable Message-ID, and marked sent right after, so
    a worker that dies mid-batch resends nothing it marked. The rows and
    everything their emails say are read in a fixed number of queries.

    A refused mail does not stop the others: its failure is recorded (failed
    for good after MAX_ATTEMPTS, the assignee told) and the caller retries it
    alone. A server that cannot be reached costs no attempt: the rows not yet
    claimed are handed back in ``left``, as are those a long batch had no
    time for (BATCH_TIME_LIMIT)."""
    dispatch = Dispatch()
    followups = _for_sending(followup_ids)
    contexts = email_contexts(followups)
    deadline = time_monotonic() + BATCH_TIME_LIMIT
    connection = get_connection()
    try:
        for index, followup in enumerate(followups):
            if index and time_monotonic() > deadline:  # at least one row a task
                dispatch.left = [row.pk for row in followups[index:]]
                break
            now = timezone.now()
            if settings.HELPDESK_FOLLOWUP_SEND_ONLY_IN_WINDOW and _postpone_if_night(followup, now):
                continue
            try:
                # Before the claim: an unreachable server costs the row no attempt.
                connection.open()
            except OSError as exc:
                logger.warning(
                    "Mail server unreachable, %s follow-ups left: %s", len(followups) - index, exc
                )
                dispatch.left = [row.pk for row in followups[index:]]
                dispatch.unreachable = True
                break
            claimed = FollowUp.objects.filter(
                claimable(now, CLAIM_TIMEOUT), pk=followup.pk, status=FollowUp.Status.QUEUED
            ).update(claimed_at=now, attempts=F("attempts") + 1)
            if not claimed:
                continue
            try:
                email = build_followup_email(followup, contexts[followup.pk])
                email.connection = connection
                email.send()
            # Whatever went wrong with this one mail (a refusal, a template
            # error, a dropped connection) is its own failure, not the batch's.
            except Exception as exc:  # noqa: BLE001
                _record_failure(followup, exc, claim=now)
                dispatch.failed[followup.pk] = f"{type(exc).__name__}: {exc}"
                # The session's state is unknown after an error: the next mail
                # starts a new one.
                _close_quietly(connection)
                continue
            # Recorded as sent even if cancelled during the send: the mail did go.
            FollowUp.objects.filter(pk=followup.pk, claimed_at=now).update(
                status=FollowUp.Status.SENT, sent_at=timezone.now(), last_error=""
            )
            dispatch.sent.append(followup.pk)
    finally:
        _close_quietly(connection)
    return dispatch


def followup_deliver(*, followup_id: int) -> bool:
    """Send one follow-up, once (see ``followups_deliver``): True if sent,
    False if there was nothing to send; FollowUpSendFailed if it could not be
    sent now."""
    dispatch = followups_deliver(followup_ids=[followup_id])
    if dispatch.failed:
        raise FollowUpSendFailed(dispatch.failed[followup_id])
    if dispatch.left:
        raise FollowUpSendFailed("The mail server could not be reached.")
    return bool(dispatch.sent)


def _for_sending(followup_ids: Sequence[int]) -> list[FollowUp]:
    """The queued rows among ``followup_ids``, in that order, with the rows
    their emails read (ticket, customer, assignee for a failure's alert)."""
    rows = FollowUp.objects.select_related(
        "customer", "ticket__customer", "ticket__assignee"
    ).filter(pk__in=followup_ids, status=FollowUp.Status.QUEUED)
    by_id = {row.pk: row for row in rows}
    return [by_id[pk] for pk in dict.fromkeys(followup_ids) if pk in by_id]


def _close_quietly(connection: Any) -> None:
    try:
        connection.close()
    except OSError as exc:  # smtplib's errors are OSErrors; the mails are already marked
        logger.info("Closing the mail connection failed: %s", exc)


def _postpone_if_night(followup: FollowUp, now: datetime) -> bool:
    """A follow-up whose moment passed while workers were down or busy waits
    for the customer's next morning rather than arrive at night."""
    zone = followup.customer.zone
    local = timezone.localtime(now, zone)
    start, end = settings.HELPDESK_FOLLOWUP_WINDOW_START, settings.HELPDESK_FOLLOWUP_WINDOW_END
    if start <= local.hour < end:
        return False
    day = local.date() if local.hour < start else local.date() + timedelta(days=1)
    slot = morning_slot(day=day, zone=zone, spread_key=followup.pk)
    FollowUp.objects.filter(
        claimable(now, CLAIM_TIMEOUT),
        pk=followup.pk,
        status=FollowUp.Status.QUEUED,
    ).update(status=FollowUp.Status.SCHEDULED, due_at=slot, queued_at=None)
    return True


@transaction.atomic
def _record_failure(followup: FollowUp, exc: Exception, *, claim: datetime) -> None:
    error = f"{type(exc).__name__}: {exc}"[:2000]
    # The ticket first (the order reopen takes), and only our own claim of a
    # row still queued: a follow-up cancelled meanwhile stays cancelled.
    Ticket.objects.select_for_update(of=("self",)).filter(pk=followup.ticket_id).first()
    # The attempts as our claim left them (the row was read before it).
    attempts = (
        FollowUp.objects.select_for_update()
        .filter(pk=followup.pk, status=FollowUp.Status.QUEUED, claimed_at=claim)
        .values_list("attempts", flat=True)
        .first()
    )
    if attempts is None:
        return
    final = attempts >= MAX_ATTEMPTS
    FollowUp.objects.filter(pk=followup.pk).update(
        status=FollowUp.Status.FAILED if final else FollowUp.Status.QUEUED,
        claimed_at=None,
        last_error=error,
    )
    if final:
        ticket = followup.ticket
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
                f"after {attempts} tries ({error}). Check their email address, or write to "
                "them yourself."
            ),
            recipients=[ticket.assignee] if ticket.assignee else [],
        )


# --- The end of the rebuilding period ------------------------------------------------------


def tickets_restore_finished(*, now: datetime | None = None) -> int:
    """Restore rebuilding tickets whose plan is done, the last follow-up sent
    more than the grace period ago, with no low rating since resolution."""
    from tickets.services import ticket_restore

    now = now or timezone.now()
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
