"""Timeliness targets: a missed acknowledgement or apology target is recorded
on the ticket, in its history, and sent to the assignee and supervisors, once
per breach. Answered questions with no news are closed after a quiet period."""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q

from core import clock
from core.errors import DomainError
from tickets.models import Alert, Kind, Status, Ticket
from tickets.selectors import targets_by_severity
from tickets.services.alerts import alert_raise
from tickets.services.events import record_event
from tickets.services.lifecycle import ticket_close

logger = logging.getLogger(__name__)

BATCH = 500
_PAST = {"acknowledge": "acknowledged", "apologize": "apologized for"}
# What the reader of the alert does about a missed target.
_NOW = {
    "acknowledge": "Acknowledge it now.",
    "apologize": "Apologize now: a late apology is worth less.",
}


def awaiting(step: str) -> Q:
    """Tickets whose ``step`` is still to take, its miss not yet recorded."""
    if step == "acknowledge":
        return Q(status=Status.NEW, acknowledge_breached_at=None)
    return Q(
        kind=Kind.MISHAP,
        status__in=[Status.NEW, Status.ACKNOWLEDGED],
        apologize_breached_at=None,
    )


def _late(step: str, severity: str, within: timedelta, now: datetime) -> Q:
    """Tickets of ``severity`` whose ``step`` is overdue and not yet recorded."""
    return Q(severity=severity, clock_started_at__lte=now - within) & awaiting(step)


def timeliness_check(*, now: datetime | None = None) -> int:
    """Record every breach not yet recorded; returns how many."""
    now = now or clock.now()
    recorded = 0
    for severity, target in targets_by_severity().items():
        for step, within in (
            ("acknowledge", target.acknowledge_within),
            ("apologize", target.apologize_within),
        ):
            late = _late(step, severity, within, now)
            for ticket_id in Ticket.objects.filter(late).values_list("pk", flat=True)[:BATCH]:
                recorded += _record_breach(
                    ticket_id=ticket_id, step=step, within=within, late=late, now=now
                )
    return recorded


@transaction.atomic
def _record_breach(*, ticket_id: int, step: str, within: timedelta, late: Q, now: datetime) -> int:
    field = f"{step}_breached_at"
    # The same conditions again under the lock: the ticket may have been
    # acknowledged or reopened since the sweep listed it. skip_locked: a
    # ticket being worked right now is checked on the next sweep.
    ticket = (
        Ticket.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("customer")
        .filter(late, pk=ticket_id)
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
            f"within {_humanize(within)} and still is not. {_NOW[step]}"
        ),
    )
    return 1


def _humanize(delta: timedelta) -> str:
    """A target in words: "1 day", "4 hours", "90 minutes"."""
    minutes = int(delta.total_seconds() // 60)
    for unit, size in (("day", 24 * 60), ("hour", 60)):
        if minutes and minutes % size == 0:
            return _count(minutes // size, unit)
    return _count(minutes, "minute")


def _count(number: int, unit: str) -> str:
    return f"{number} {unit}" if number == 1 else f"{number} {unit}s"


def tickets_close_quiet(*, now: datetime | None = None) -> int:
    """Close answered questions that stayed quiet for the configured period."""
    now = now or clock.now()
    quiet = Ticket.objects.filter(
        status=Status.RESOLVED, resolved_at__lte=now - settings.HELPDESK_AUTO_CLOSE_AFTER
    ).values_list("pk", flat=True)[:BATCH]
    closed = 0
    reason = f"No news for {settings.HELPDESK_AUTO_CLOSE_AFTER.days} days after the answer."
    for ticket_id in quiet:
        try:
            ticket_close(ticket=Ticket.objects.get(pk=ticket_id), actor=None, reason=reason)
        except DomainError as exc:
            # Reopened meanwhile, say: leave it, and close the others.
            logger.info("Ticket %s not closed: %s", ticket_id, exc)
            continue
        closed += 1
    return closed
