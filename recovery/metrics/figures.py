"""The trust dashboard's figures for a date range, aggregated in SQL.

Each figure says what it counts; a figure with nothing to count is null, not
zero, so a new desk does not show a 0% apology rate it never had.
"""

import calendar
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import (
    Q,
)
from django.utils import timezone

from accounts.models import User
from accounts.roles import Role
from core.money import round_amount
from recovery.models import Period
from recovery.selectors import Policy, policies_for

# Commonly cited word-of-mouth figures: a happy customer tells about 3 people,
# one whose problem was resolved 4 to 6 (we use 5), an unhappy one 9 to 15 (12).
TELLS_HAPPY, TELLS_RESOLVED, TELLS_UNHAPPY = 3, 5, 12

# The dates a range may span: around any desk's life, and far from the ends
# of what Python's dates and PostgreSQL's timestamps hold once a range's
# bounds are turned into times in a zone (9999-12-31 overflows east of UTC).
EARLIEST_DATE = date(2000, 1, 1)
LATEST_DATE = date(2100, 12, 31)
DATE_RANGE_TEXT = f"{EARLIEST_DATE.isoformat()} to {LATEST_DATE.isoformat()}"


@dataclass(frozen=True)
class TrustMetrics:
    start: date
    end: date
    median_minutes_to_acknowledge: float | None
    mishaps: int
    apology_rate: float | None
    promises_due: int
    promises_kept_rate: float | None
    restitution_spend: list[dict[str, Any]]
    median_hours_to_approval: float | None
    followups_sent: int
    followups_failed: int
    followup_delivery_rate: float | None
    followup_response_rate: float | None
    recovered_average_rating: float | None
    never_failed_average_rating: float | None
    recovery_paradox_index: float | None
    repeat_failures: int
    word_of_mouth: dict[str, int]
    # Ratings on mishaps by restitution as a share of the loss (recovery/compensation.py).
    compensation_effectiveness: list[dict[str, Any]]
    compensation_loss_not_stated: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _bounds(start: date, end: date) -> tuple[datetime, datetime]:
    zone = timezone.get_default_timezone()
    return (
        datetime.combine(start, time.min, tzinfo=zone),
        datetime.combine(end + timedelta(days=1), time.min, tzinfo=zone),
    )


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


@dataclass(frozen=True)
class SeriesPoint:
    """One bucket (a day or an ISO week) of the range."""

    start: date  # the bucket's first day, or the range's start for a week cut by it
    mishaps: int
    apologized: int
    apology_rate: float | None
    promises_due: int
    promises_kept: int
    promises_kept_rate: float | None


BUCKETS = ("day", "week")


def bucket_for(start: date, end: date) -> str:
    """Days for a month or less, ISO weeks beyond: 5 to 53 points on a chart."""
    return "day" if (end - start).days < 31 else "week"


def _bucket_starts(start: date, end: date, bucket: str) -> list[date]:
    step = timedelta(days=1 if bucket == "day" else 7)
    first = start if bucket == "day" else start - timedelta(days=start.weekday())
    starts = []
    while first <= end:
        starts.append(first)
        first += step
    return starts


def budget_for_range(policy: Policy, start: date, end: date) -> Decimal:
    """What the policy allows in ``start`` to ``end`` (inclusive): the limit
    per period, pro rata by the days of the range in each period. A day's
    limit counts once per day; a week's limit is 1/7 of it per day; a month's
    limit is 1/28 to 1/31 of it per day by the length of each calendar month,
    so April 1 to 30 is exactly one month's limit, and 7 days of a weekly
    limit exactly one week's. Pro rata rather than whole periods touched: a
    7-day range that starts on a Wednesday would otherwise count two weeks."""
    days = (end - start).days + 1
    if policy.period == Period.DAY:
        periods = Decimal(days)
    elif policy.period == Period.WEEK:
        periods = Decimal(days) / 7
    else:
        periods = Decimal(0)
        day = start
        while day <= end:
            month_days = calendar.monthrange(day.year, day.month)[1]
            month_end = min(day.replace(day=month_days), end)
            periods += Decimal((month_end - day).days + 1) / month_days
            day = month_end + timedelta(days=1)
    return round_amount(policy.per_period_limit * periods, policy.currency)


@dataclass(frozen=True)
class AgentSpend:
    """One person's restitution spend in the range against their budget for it,
    both in the currency of their policy."""

    user: int
    username: str
    currency: str
    spent: Decimal
    budget: Decimal
    period: str
    per_period_limit: Decimal

    @property
    def share_of_budget(self) -> float | None:
        return round(float(self.spent / self.budget), 4) if self.budget else None


def spend_against_budget(
    *, start: date, end: date, spend: list[dict[str, Any]]
) -> list[AgentSpend]:
    """Everyone who granted something in the range (``spend`` is
    ``TrustMetrics.restitution_spend``) and every active agent, even one who
    spent nothing: three queries (users, their groups, their policies)."""
    spenders = {row["user"] for row in spend}
    users = (
        User.objects.filter(Q(pk__in=spenders) | Q(is_active=True, groups__name=Role.AGENT))
        .distinct()
        .prefetch_related("groups")
        .order_by("username", "pk")
    )
    policies = policies_for(users)
    result = []
    for user in users:
        policy = policies[user.pk]
        spent = sum(
            (
                Decimal(row["total"])
                for row in spend
                if row["user"] == user.pk and row["currency"] == policy.currency
            ),
            Decimal("0.00"),
        )
        result.append(
            AgentSpend(
                user=user.pk,
                username=user.username,
                currency=policy.currency,
                spent=spent,
                budget=budget_for_range(policy, start, end),
                period=policy.period,
                per_period_limit=policy.per_period_limit,
            )
        )
    return result
