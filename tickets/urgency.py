"""How urgent each ticket is: its next deadline and what it is for, and how
long the customer has been waiting for an answer. Annotations for the work
list (computed by PostgreSQL for the rows it returns, or for the rows it
sorts when the list is ordered by urgency), and the words agents read."""

import math
from datetime import datetime, timedelta

from django.db.models import (
    Case,
    CharField,
    DateTimeField,
    DurationField,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)

from tickets.models import Commitment, Kind, Message, Status, Ticket
from tickets.selectors import targets_by_severity

ACKNOWLEDGE, APOLOGIZE, PROMISE = "acknowledge", "apologize", "promise"


def _after_clock(within: timedelta) -> ExpressionWrapper:
    return ExpressionWrapper(
        F("clock_started_at") + Value(within, output_field=DurationField()),
        output_field=DateTimeField(),
    )


def with_urgency(tickets: QuerySet[Ticket]) -> QuerySet[Ticket]:
    """Each ticket with ``due_at``, its next deadline, and ``due_for``, what
    it is for: the acknowledgement target of a new ticket, the apology target
    of a mishap acknowledged but not yet apologized for, the promise of a
    committed one (missed targets included: they are the most urgent); none
    otherwise. And ``waiting_since``: the customer's last message, when no
    public answer came after it. The targets are read first (one small
    query) and written into the SQL as values."""
    deadlines: list[When] = []
    purposes: list[When] = []
    promise = Commitment.objects.filter(ticket=OuterRef("pk"), fulfilled_at=None).values("due_at")
    for severity, target in targets_by_severity().items():
        new = Q(status=Status.NEW, severity=severity)
        unapologized = Q(status=Status.ACKNOWLEDGED, kind=Kind.MISHAP, severity=severity)
        deadlines += [
            When(new, then=_after_clock(target.acknowledge_within)),
            When(unapologized, then=_after_clock(target.apologize_within)),
        ]
        purposes += [When(new, then=Value(ACKNOWLEDGE)), When(unapologized, then=Value(APOLOGIZE))]
    deadlines.append(When(status=Status.COMMITTED, then=Subquery(promise[:1])))
    purposes.append(When(status=Status.COMMITTED, then=Value(PROMISE)))
    public = Message.objects.filter(ticket=OuterRef("pk"), public=True).order_by(
        "-created_at", "-id"
    )
    last_customer = public.filter(author_kind=Message.Author.CUSTOMER).values("created_at")[:1]
    last_answer = public.exclude(author_kind=Message.Author.CUSTOMER).values("created_at")[:1]
    return tickets.annotate(
        due_at=Case(*deadlines, default=None, output_field=DateTimeField()),
        due_for=Case(*purposes, default=Value(""), output_field=CharField()),
        last_customer_at=Subquery(last_customer, output_field=DateTimeField()),
        last_answer_at=Subquery(last_answer, output_field=DateTimeField()),
    )


def waiting_since(ticket: Ticket) -> datetime | None:
    """When the customer's unanswered message came, from ``with_urgency``."""
    last = getattr(ticket, "last_customer_at", None)
    answer = getattr(ticket, "last_answer_at", None)
    if last is None or (answer is not None and answer >= last):
        return None
    return last


def span(delta: timedelta, *, rounding_up: bool = False) -> str:
    """A span as agents say it: "12 min", "5 h", "3 days" ("<1 min" below a
    minute). A time left is rounded up, so 14 min 30 s left is "15 min"."""
    seconds = max(delta.total_seconds(), 0)
    minutes = math.ceil(seconds / 60) if rounding_up else int(seconds // 60)
    if minutes < 1:
        return "<1 min"
    if minutes < 90:
        return f"{minutes} min"
    hours = round(minutes / 60)
    if hours < 48:
        return f"{hours} h"
    return f"{round(hours / 24)} days"


_WHAT = {ACKNOWLEDGE: "acknowledge", APOLOGIZE: "apologize", PROMISE: "promise due"}


def countdown(ticket: Ticket, now: datetime) -> str:
    """The next deadline in words: "acknowledge in 12 min", "apologize: 2 h
    late", "promise due in 3 days", "promise: 1 h late"; empty when nothing is timed."""
    due_at = getattr(ticket, "due_at", None)
    due_for = getattr(ticket, "due_for", "")
    if due_at is None or not due_for:
        return ""
    if due_at >= now:
        return f"{_WHAT[due_for]} in {span(due_at - now, rounding_up=True)}"
    return f"{due_for}: {span(now - due_at)} late"
