"""The customer's trust level, and the reasons for it, from their figures.

All the rules are here; the thresholds are settings (README, "The
customer's trust"). The first level whose rule holds is the customer's:

Fragile
    Any of: ``HELPDESK_TRUST_FRAGILE_MISHAPS`` mishaps or more in 90 days; a
    repeat failure in the last year; the latest promise (due or kept in the
    last year) more than ``HELPDESK_TRUST_PROMISE_GRACE_HOURS`` late; the
    latest rating (in the last year) ``HELPDESK_TRUST_LOW_RATING`` or lower.
    A second failure is what a recovery does not survive (Maxham and
    Netemeyer 2002), and a broken promise or a low rating says it may
    already have happened.
Recovering
    A mishap being put right now, or in its rebuilding period, and nothing
    above: the answers so far are good.
New
    Fewer than ``HELPDESK_TRUST_NEW_BELOW_TICKETS`` tickets, never a mishap,
    and no rating: too little history to say.
Steady
    Everyone else.

No weights and no model: each reason is a sentence an agent can check
against the customer's page.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Subquery

from accounts.models import Customer
from recovery.models import Feedback
from recovery.trust.figures import QUARTER, YEAR, Figures
from tickets.models import Commitment, Kind, Ticket


class Level(models.TextChoices):
    FRAGILE = "fragile", "Fragile"
    RECOVERING = "recovering", "Recovering"
    STEADY = "steady", "Steady"
    NEW = "new", "New"


@dataclass(frozen=True)
class Assessment:
    level: Level
    reasons: list[str]


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _ago(moment: datetime, now: datetime) -> str:
    days = (now - moment).days
    if days <= 0:
        return "today"
    return "yesterday" if days == 1 else f"{days} days ago"


def duration_words(hours: float) -> str:
    """2 days, 5 hours, 40 minutes: the largest unit that is at least one."""
    if hours >= 24:
        return _plural(round(hours / 24), "day")
    if hours >= 1:
        return _plural(round(hours), "hour")
    return _plural(max(1, round(hours * 60)), "minute")


def _days_since(moment: datetime, now: datetime) -> int:
    return max(1, round((now - moment) / timedelta(days=1)))


def fragile_signals(f: Figures) -> list[str]:
    """The reasons a customer is fragile; none when they are not."""
    now = f.as_of
    signals = []
    if f.mishaps_90_days >= settings.HELPDESK_TRUST_FRAGILE_MISHAPS:
        since = f.first_mishap_90_days_at or now
        signals.append(f"{f.mishaps_90_days} mishaps in {_days_since(since, now)} days")
    if f.repeat_failures_365_days == 1:
        signals.append("a repeat failure: another mishap soon after the last")
    elif f.repeat_failures_365_days > 1:
        signals.append(f"{f.repeat_failures_365_days} repeat failures in the last year")
    late = f.last_promise_late_hours
    if late is not None and late > settings.HELPDESK_TRUST_PROMISE_GRACE_HOURS:
        if f.last_promise_kept_at is None:
            signals.append(f"the last promise is {duration_words(late)} overdue")
        else:
            signals.append(f"the last promise was {duration_words(late)} late")
    low = settings.HELPDESK_TRUST_LOW_RATING
    if f.last_rating is not None and f.last_rating <= low and f.last_rated_at is not None:
        signals.append(f"rated {f.last_rating} of 5 {_ago(f.last_rated_at, now)}")
    return signals


def fragile_customers(customers: QuerySet[Customer], *, now: datetime) -> QuerySet[Customer]:
    """``fragile_signals`` as SQL, for ordering a long list by it: the
    customers of ``customers`` with at least one signal, each signal an
    index lookup, without the rest of the profile. The two say the same
    (tests/recovery/test_trust.py holds them together)."""
    year_ago = now - YEAR
    customer = OuterRef("pk")
    grace = timedelta(hours=settings.HELPDESK_TRUST_PROMISE_GRACE_HOURS)
    recent = (
        Ticket.objects.filter(customer_id=customer, kind=Kind.MISHAP, created_at__gte=now - QUARTER)
        .order_by()
        .values("customer_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    repeat = Ticket.objects.filter(
        customer_id=customer, is_repeat_failure=True, created_at__gte=year_ago
    )
    last_promise = (
        # Inside ``late`` below: the customer is its outer query's outer row.
        Commitment.objects.filter(ticket__customer_id=OuterRef(customer), due_at__gte=year_ago)
        .filter(Q(fulfilled_at__isnull=False) | Q(due_at__lte=now))
        .order_by("-due_at", "-id")
        .values("pk")[:1]
    )
    late = Commitment.objects.filter(pk=Subquery(last_promise)).filter(
        Q(fulfilled_at__gt=F("due_at") + grace) | Q(fulfilled_at=None, due_at__lt=now - grace)
    )
    last_rating = (
        Feedback.objects.filter(customer_id=customer, created_at__gte=year_ago)
        .order_by("-created_at", "-id")
        .values("rating")[:1]
    )
    return (
        customers.order_by()
        .annotate(recent_mishaps=Subquery(recent), last_rating=Subquery(last_rating))
        .filter(
            Q(recent_mishaps__gte=settings.HELPDESK_TRUST_FRAGILE_MISHAPS)
            | Exists(repeat)
            | Exists(late)
            | Q(last_rating__lte=settings.HELPDESK_TRUST_LOW_RATING)
        )
    )


def _recovering(f: Figures) -> list[str]:
    now = f.as_of
    reasons = []
    if f.rebuilding_mishaps and f.rebuilding_since is not None:
        reasons.append(
            f"in a rebuilding period for {duration_words(_hours(now - f.rebuilding_since))}"
        )
        rated_since = f.last_rated_at is not None and f.last_rated_at >= f.rebuilding_since
        if rated_since:
            reasons.append(f"answers so far good: rated {f.last_rating} of 5")
        else:
            reasons.append("no rating yet in this period")
    if f.open_mishaps:
        being = "a mishap" if f.open_mishaps == 1 else _plural(f.open_mishaps, "mishap")
        reasons.append(f"{being} being put right now")
    return reasons


def _hours(delta: timedelta) -> float:
    return delta.total_seconds() / 3600


def _new(f: Figures) -> list[str]:
    quiet = f.mishaps == 0 and f.ratings == 0
    if not quiet or f.tickets >= settings.HELPDESK_TRUST_NEW_BELOW_TICKETS:
        return []
    if f.tickets <= 1:
        return ["first ticket with us" if f.tickets == 1 else "no ticket with us yet"]
    return [f"only {f.tickets} tickets so far, none of them a mishap"]


def _steady(f: Figures) -> list[str]:
    reasons = []
    if f.mishaps_365_days == 0:
        reasons.append("no mishap in the last year")
    else:
        reasons.append(f"{_plural(f.mishaps_365_days, 'mishap')} in the last year, recovered")
    if f.promises_made:
        reasons.append(f"promises kept: {f.promises_kept} of {f.promises_made}")
    if f.last_rating is not None:
        reasons.append(f"last rated {f.last_rating} of 5")
    reasons.append(f"{_plural(f.tickets, 'ticket')} in all")
    return reasons


def _context(f: Figures) -> list[str]:
    """Facts worth knowing at any level."""
    reasons = []
    if f.restitution_share_of_loss is not None:
        reasons.append(
            f"granted {round(f.restitution_share_of_loss * 100)}% of the losses they stated"
        )
    if f.unsubscribed_at is not None:
        reasons.append(f"stopped our follow-ups {_ago(f.unsubscribed_at, f.as_of)}")
    return reasons


def assess(f: Figures) -> Assessment:
    if signals := fragile_signals(f):
        return Assessment(Level.FRAGILE, signals + _context(f))
    if recovering := _recovering(f):
        return Assessment(Level.RECOVERING, recovering + _context(f))
    if new := _new(f):
        return Assessment(Level.NEW, new + _context(f))
    return Assessment(Level.STEADY, _steady(f) + _context(f))
