"""Warnings before it is too late: a target about to be missed, a promise to
a customer nearly due. Raised by beat every minute, each occurrence once
(the notification's ``key``), to whoever holds the ticket."""

import logging
from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q

from core import clock
from tickets.models import Commitment, NotificationKind, Ticket
from tickets.models.ticket import OPEN_STATUSES
from tickets.selectors import holders, targets_by_severity
from tickets.services.notifications import excerpt, notify
from tickets.services.timeliness import awaiting

logger = logging.getLogger(__name__)

_TO = {"acknowledge": "acknowledged", "apologize": "apologized to"}


def reminders_send(*, now: datetime | None = None) -> int:
    """Warn of every target and promise now within its lead time; returns
    how many occurrences were warned of (each to one or more people)."""
    now = now or clock.now()
    return _targets_near(now) + _promises_due(now)


def _targets_near(now: datetime) -> int:
    lead = settings.HELPDESK_NOTIFY_TARGET_LEAD
    warned = 0
    for severity, target in targets_by_severity().items():
        for step, within in (
            ("acknowledge", target.acknowledge_within),
            ("apologize", target.apologize_within),
        ):
            near = (
                Q(severity=severity)
                & Q(clock_started_at__gt=now - within)
                & Q(clock_started_at__lte=now - within + lead)
                & awaiting(step)
            )
            tickets = Ticket.objects.filter(near).select_related("customer", "assignee")
            # The window is the lead time: its tickets are few; none is cut off.
            for ticket in list(tickets):
                due_at = ticket.clock_started_at + within
                # A reopened ticket's clock starts again: a new occurrence.
                key = f"{step}:{ticket.clock_started_at.isoformat()}"
                warned += _once(
                    kind=NotificationKind.TARGET_NEAR,
                    ticket=ticket,
                    key=key,
                    text=f"{ticket.customer.name} must be {_TO[step]} on {ticket.reference} "
                    f"within {_left(due_at, now)}, or the target is missed.",
                )
    return warned


def _promises_due(now: datetime) -> int:
    lead = settings.HELPDESK_NOTIFY_COMMITMENT_LEAD
    due = (
        Commitment.objects.filter(
            fulfilled_at=None,
            due_at__gt=now,
            due_at__lte=now + lead,
            ticket__status__in=OPEN_STATUSES,
        )
        .select_related("ticket__customer", "ticket__assignee")
        .order_by("due_at")
    )
    warned = 0
    for commitment in list(due):
        ticket = commitment.ticket
        promise = excerpt(commitment.promise)
        warned += _once(
            kind=NotificationKind.COMMITMENT_DUE,
            ticket=ticket,
            key=f"commitment:{commitment.pk}",
            text=f"The promise to {ticket.customer.name} on {ticket.reference} is due in "
            f"{_left(commitment.due_at, now)}: “{promise}”",
        )
    return warned


def _once(*, kind: str, ticket: Ticket, key: str, text: str) -> int:
    """One occurrence told once: a check that overlaps another finds it told,
    or loses the race on the unique key and leaves it to the winner."""
    try:
        with transaction.atomic():
            told = notify(kind=kind, ticket=ticket, recipients=holders(ticket), text=text, key=key)
    except IntegrityError:
        logger.info("Notification %s %s for %s raised meanwhile", kind, key, ticket.pk)
        return 0
    return 1 if told else 0


def _left(moment: datetime, now: datetime) -> str:
    """What is left: whole minutes rounded up below 90, else about so many hours."""
    minutes = max(1, -int(-(moment - now).total_seconds() // 60))
    if minutes < 90:
        return "1 minute" if minutes == 1 else f"{minutes} minutes"
    return f"about {round(minutes / 60)} hours"
