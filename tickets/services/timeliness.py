"""Timeliness targets: a missed acknowledgement or apology target is recorded
on the ticket, in its history, and sent to the assignee and supervisors, once
per breach. Answered questions with no news are closed after a quiet period."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from tickets.models import Alert, Kind, Severity, SeverityTarget, Status, Ticket
from tickets.services.alerts import alert_raise
from tickets.services.events import record_event
from tickets.services.lifecycle import ticket_close

# Used where an admin deleted a severity's row; the migration seeds the same.
DEFAULT_TARGETS = {
    Severity.CRITICAL: (timedelta(minutes=15), timedelta(hours=1)),
    Severity.MAJOR: (timedelta(hours=1), timedelta(hours=4)),
    Severity.MINOR: (timedelta(hours=4), timedelta(hours=24)),
}
BATCH = 500
_PAST = {"acknowledge": "acknowledged", "apologize": "apologized for"}


@dataclass(frozen=True)
class Target:
    acknowledge_within: timedelta
    apologize_within: timedelta


def targets_by_severity() -> dict[str, Target]:
    targets = {s: Target(*DEFAULT_TARGETS[Severity(s)]) for s in Severity.values}
    for row in SeverityTarget.objects.all():
        targets[row.severity] = Target(row.acknowledge_within, row.apologize_within)
    return targets


def timeliness_check(*, now: datetime | None = None) -> int:
    """Record every breach not yet recorded; returns how many."""
    now = now or timezone.now()
    recorded = 0
    for severity, target in targets_by_severity().items():
        late_acknowledgements = Ticket.objects.filter(
            severity=severity,
            status=Status.NEW,
            acknowledge_breached_at=None,
            clock_started_at__lte=now - target.acknowledge_within,
        )
        late_apologies = Ticket.objects.filter(
            severity=severity,
            kind=Kind.MISHAP,
            status__in=[Status.NEW, Status.ACKNOWLEDGED],
            apologize_breached_at=None,
            clock_started_at__lte=now - target.apologize_within,
        )
        for step, due, candidates in (
            ("acknowledge", target.acknowledge_within, late_acknowledgements),
            ("apologize", target.apologize_within, late_apologies),
        ):
            for ticket_id in candidates.values_list("pk", flat=True)[:BATCH]:
                recorded += _record_breach(ticket_id=ticket_id, step=step, within=due, now=now)
    return recorded


@transaction.atomic
def _record_breach(*, ticket_id: int, step: str, within: timedelta, now: datetime) -> int:
    field = f"{step}_breached_at"
    # skip_locked: a ticket being worked right now is checked on the next sweep.
    ticket = (
        Ticket.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("customer")
        .filter(pk=ticket_id, **{field: None})
        .first()
    )
    if ticket is None:
        return 0
    due_at = ticket.clock_started_at + within
    setattr(ticket, field, now)
    ticket.save(update_fields=[field, "updated_at"])
    late_by = now - due_at
    record_event(
        ticket=ticket,
        actor=None,
        action="target_missed",
        payload={
            "step": step,
            "due_at": due_at.isoformat(),
            "late_seconds": int(late_by.total_seconds()),
        },
    )
    alert_raise(
        ticket=ticket,
        kind=Alert.Kind.ACKNOWLEDGE_BREACH if step == "acknowledge" else Alert.Kind.APOLOGY_BREACH,
        detail=(
            f"{ticket.customer.name}'s {ticket.get_severity_display().lower()} "
            f"{ticket.get_kind_display().lower()} was due to be {_PAST[step]} "
            f"within {_humanize(within)} and still is not."
        ),
    )
    return 1


def _humanize(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes % (24 * 60) == 0:
        return f"{minutes // (24 * 60)} day(s)"
    if minutes % 60 == 0:
        return f"{minutes // 60} hour(s)"
    return f"{minutes} minutes"


def tickets_close_quiet(*, now: datetime | None = None) -> int:
    """Close answered questions that stayed quiet for the configured period."""
    now = now or timezone.now()
    quiet = Ticket.objects.filter(
        status=Status.RESOLVED, resolved_at__lte=now - settings.HELPDESK_AUTO_CLOSE_AFTER
    ).values_list("pk", flat=True)[:BATCH]
    closed = 0
    for ticket_id in quiet:
        ticket = Ticket.objects.get(pk=ticket_id)
        ticket_close(
            ticket=ticket,
            actor=None,
            reason=f"No news for {settings.HELPDESK_AUTO_CLOSE_AFTER.days} days after the answer.",
        )
        closed += 1
    return closed
