"""The trust figures computed straight from the source tables, as the desk
did before the daily rollups: the reference ``recovery.metrics`` (the
rollups and their live path) is tested against."""

from datetime import date, datetime
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

from recovery.compensation import compensation_effectiveness
from recovery.metrics.figures import (
    BUCKETS,
    TELLS_HAPPY,
    TELLS_RESOLVED,
    TELLS_UNHAPPY,
    SeriesPoint,
    TrustMetrics,
    _bounds,
    _bucket_starts,
    _ratio,
)
from recovery.models import ApprovalRequest, Feedback, FollowUp, SpendEntry
from tickets.models import Commitment, Kind, Ticket


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
