"""The trust dashboard's figures for a date range, aggregated in SQL.

Each figure says what it counts; a figure with nothing to count is null, not
zero, so a new desk does not show a 0% apology rate it never had.
"""

import calendar
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from statistics import median
from typing import Any

from django.db import connection
from django.db.models import (
    Avg,
    Count,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Sum,
)
from django.db.models.functions import TruncDay, TruncWeek
from django.utils import timezone

from accounts.models import User
from accounts.roles import Role
from core.money import round_amount
from recovery.compensation import compensation_effectiveness
from recovery.models import ApprovalRequest, Feedback, FollowUp, Period, SpendEntry
from recovery.services.authority import Policy, policies_for
from tickets.models import Commitment, Kind, Ticket

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


def _median_seconds(durations: QuerySet[Any], field: str) -> float | None:
    """The median of a duration column: in SQL on PostgreSQL, in Python on the
    SQLite of the local demo, which has no percentile function."""
    if connection.vendor == "postgresql":
        from django.db.models import Aggregate

        class Median(Aggregate):
            function = "percentile_cont"
            template = "%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"
            output_field = DurationField()

        value = durations.aggregate(m=Median(field))["m"]
        return value.total_seconds() if value is not None else None
    values = [d.total_seconds() for d in durations.values_list(field, flat=True) if d is not None]
    return median(values) if values else None


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def trust_metrics_live(*, start: date, end: date) -> TrustMetrics:
    """The figures straight from the source tables, one aggregate per group of
    figures over the whole range: the reference definition the daily rollups
    (``recovery.metrics.daily``) are tested against; its cost grows with the
    range, so pages read ``recovery.metrics.trust_metrics`` instead."""
    since, until = _bounds(start, end)
    created = Ticket.objects.filter(created_at__gte=since, created_at__lt=until)

    acknowledged = created.filter(acknowledged_at__isnull=False).annotate(
        wait=ExpressionWrapper(F("acknowledged_at") - F("created_at"), output_field=DurationField())
    )
    to_acknowledge = _median_seconds(acknowledged, "wait")

    mishaps = created.aggregate(
        total=Count("pk", filter=Q(kind=Kind.MISHAP)),
        apologized=Count("pk", filter=Q(kind=Kind.MISHAP, apologized_at__isnull=False)),
        repeats=Count("pk", filter=Q(is_repeat_failure=True)),
    )

    promises = Commitment.objects.filter(due_at__gte=since, due_at__lt=until).aggregate(
        due=Count("pk"),
        kept=Count("pk", filter=Q(fulfilled_at__isnull=False, fulfilled_at__lte=F("due_at"))),
    )

    spend = list(
        SpendEntry.objects.filter(created_at__gte=since, created_at__lt=until)
        .values("user_id", "user__username", "restitution__kind", "currency")
        .annotate(total=Sum("amount"))
        .order_by("user__username", "restitution__kind")
    )

    decided = ApprovalRequest.objects.filter(decided_at__gte=since, decided_at__lt=until).annotate(
        wait=ExpressionWrapper(F("decided_at") - F("created_at"), output_field=DurationField())
    )
    to_approval = _median_seconds(decided, "wait")

    followups = FollowUp.objects.filter(due_at__gte=since, due_at__lt=until).aggregate(
        sent=Count("pk", filter=Q(status=FollowUp.Status.SENT)),
        failed=Count("pk", filter=Q(status=FollowUp.Status.FAILED)),
        answered=Count("pk", filter=Q(status=FollowUp.Status.SENT, feedback__isnull=False)),
    )

    had_mishap = Exists(Ticket.objects.filter(customer=OuterRef("customer"), kind=Kind.MISHAP))
    feedback = Feedback.objects.filter(created_at__gte=since, created_at__lt=until).annotate(
        had_mishap=had_mishap
    )
    ratings = feedback.aggregate(
        recovered=Avg("rating", filter=Q(had_mishap=True)),
        never_failed=Avg("rating", filter=Q(had_mishap=False)),
        happy=Count("pk", filter=Q(had_mishap=False, rating__gte=4)),
        resolved=Count("pk", filter=Q(had_mishap=True, rating__gte=3)),
        unhappy=Count("pk", filter=Q(rating__lte=2)),
    )
    recovered, never_failed = ratings["recovered"], ratings["never_failed"]
    compensation = compensation_effectiveness(since=since, until=until)
    return TrustMetrics(
        start=start,
        end=end,
        median_minutes_to_acknowledge=(
            round(to_acknowledge / 60, 1) if to_acknowledge is not None else None
        ),
        mishaps=mishaps["total"],
        apology_rate=_ratio(mishaps["apologized"], mishaps["total"]),
        promises_due=promises["due"],
        promises_kept_rate=_ratio(promises["kept"], promises["due"]),
        restitution_spend=[
            {
                "user": row["user_id"],
                "username": row["user__username"],
                "kind": row["restitution__kind"],
                "currency": row["currency"],
                "total": str(row["total"].quantize(Decimal("0.01"))),
            }
            for row in spend
        ],
        median_hours_to_approval=round(to_approval / 3600, 2) if to_approval is not None else None,
        followups_sent=followups["sent"],
        followups_failed=followups["failed"],
        followup_delivery_rate=_ratio(followups["sent"], followups["sent"] + followups["failed"]),
        followup_response_rate=_ratio(followups["answered"], followups["sent"]),
        recovered_average_rating=round(recovered, 2) if recovered is not None else None,
        never_failed_average_rating=round(never_failed, 2) if never_failed is not None else None,
        recovery_paradox_index=(
            round(recovered / never_failed, 3) if recovered and never_failed else None
        ),
        repeat_failures=mishaps["repeats"],
        word_of_mouth={
            "happy_tell": ratings["happy"] * TELLS_HAPPY,
            "resolved_tell": ratings["resolved"] * TELLS_RESOLVED,
            "unhappy_tell": ratings["unhappy"] * TELLS_UNHAPPY,
        },
        compensation_effectiveness=compensation.bands,
        compensation_loss_not_stated=compensation.loss_not_stated,
    )


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


def _day(value: date | datetime) -> date:
    # TruncDay/TruncWeek return aware datetimes in the zone they truncated in.
    if isinstance(value, datetime):
        return timezone.localtime(value, timezone.get_default_timezone()).date()
    return value


def trust_series(*, start: date, end: date, bucket: str = "week") -> list[SeriesPoint]:
    """Mishaps, the apology rate and promises kept per day or ISO week of the
    range, in two queries (one GROUP BY per source table) whatever its length;
    buckets with nothing in them are filled in, with null rates."""
    if bucket not in BUCKETS:
        raise ValueError(f"bucket is one of {BUCKETS}, not {bucket!r}")
    since, until = _bounds(start, end)
    zone = timezone.get_default_timezone()
    trunc = TruncDay if bucket == "day" else TruncWeek

    tickets = (
        Ticket.objects.filter(created_at__gte=since, created_at__lt=until, kind=Kind.MISHAP)
        .annotate(bucket=trunc("created_at", tzinfo=zone))
        .values("bucket")
        .annotate(
            n_mishaps=Count("pk"),
            n_apologized=Count("pk", filter=Q(apologized_at__isnull=False)),
        )
        .order_by("bucket")
    )
    promises = (
        Commitment.objects.filter(due_at__gte=since, due_at__lt=until)
        .annotate(bucket=trunc("due_at", tzinfo=zone))
        .values("bucket")
        .annotate(
            n_due=Count("pk"),
            n_kept=Count("pk", filter=Q(fulfilled_at__isnull=False, fulfilled_at__lte=F("due_at"))),
        )
        .order_by("bucket")
    )
    by_tickets: dict[date, dict[str, Any]] = {_day(row["bucket"]): dict(row) for row in tickets}
    by_promises: dict[date, dict[str, Any]] = {_day(row["bucket"]): dict(row) for row in promises}

    points = []
    for first in _bucket_starts(start, end, bucket):
        mishap_row = by_tickets.get(first, {})
        promise_row = by_promises.get(first, {})
        mishaps, apologized = mishap_row.get("n_mishaps", 0), mishap_row.get("n_apologized", 0)
        due, kept = promise_row.get("n_due", 0), promise_row.get("n_kept", 0)
        points.append(
            SeriesPoint(
                start=max(first, start),
                mishaps=mishaps,
                apologized=apologized,
                apology_rate=_ratio(apologized, mishaps),
                promises_due=due,
                promises_kept=kept,
                promises_kept_rate=_ratio(kept, due),
            )
        )
    return points


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
