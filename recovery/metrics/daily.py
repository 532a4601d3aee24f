"""The trust dashboard's figures of each day of a span, from the source tables:
one GROUP BY day per group of figures. The beat's rollups store what this
computes (recovery/metrics/rollup.py) and a read computes the days not stored
yet with it too, so each figure has one definition, here.

A day is a calendar day in the desk's zone, as ``_bounds`` makes ranges.
"""

import sys
from array import array
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from recovery.compensation import BANDS, LOSS_NOT_STATED, _mean, banded
from recovery.metrics.figures import (
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

# (user id, username, kind, currency)
SpendKey = tuple[int, str, str, str]


class Waits:
    """Durations in whole microseconds, as sorted runs (a day's each). A
    range's median is found by bisecting the runs rather than by sorting all
    their values together: exact, and a few thousand bisections for a year."""

    def __init__(self, runs: list[Sequence[int]] | None = None) -> None:
        self.runs = [run for run in runs or [] if len(run)]

    @classmethod
    def of(cls, values: Iterable[int]) -> "Waits":
        return cls([sorted(values)])

    @classmethod
    def from_bytes(cls, data: bytes | memoryview) -> "Waits":
        run = array("q")
        run.frombytes(bytes(data))
        if sys.byteorder == "big":
            run.byteswap()
        return cls([run])

    def to_bytes(self) -> bytes:
        run = array("q", self.sorted())
        if sys.byteorder == "big":
            run.byteswap()
        return run.tobytes()

    def sorted(self) -> list[int]:
        return sorted(value for run in self.runs for value in run)

    def extend(self, other: "Waits") -> None:
        self.runs.extend(other.runs)

    def __len__(self) -> int:
        return sum(len(run) for run in self.runs)

    def _nth(self, n: int) -> int:
        """The n-th smallest value (from 0): the least v with more than n values <= v."""
        low = min(run[0] for run in self.runs)
        high = max(run[-1] for run in self.runs)
        while low < high:
            middle = (low + high) // 2
            if sum(bisect_right(run, middle) for run in self.runs) > n:
                high = middle
            else:
                low = middle + 1
        return low

    def median(self) -> float | None:
        """As ``statistics.median`` gives it over all the values."""
        count = len(self)
        if not count:
            return None
        if count % 2:
            return self._nth(count // 2)
        return (self._nth(count // 2 - 1) + self._nth(count // 2)) / 2


@dataclass
class DayFigures:
    """What a day (or, summed, a range) adds up to; see DailyFigures."""

    acknowledge_waits: Waits = field(default_factory=Waits)
    mishaps: int = 0
    apologized: int = 0
    repeat_failures: int = 0
    promises_due: int = 0
    promises_kept: int = 0
    approval_waits: Waits = field(default_factory=Waits)
    followups_sent: int = 0
    followups_failed: int = 0
    followups_answered: int = 0
    recovered_ratings: int = 0
    recovered_rating_sum: int = 0
    never_failed_ratings: int = 0
    never_failed_rating_sum: int = 0
    happy: int = 0
    resolved: int = 0
    unhappy: int = 0
    spend: dict[SpendKey, Decimal] = field(default_factory=dict)
    bands: dict[str, tuple[int, int]] = field(default_factory=dict)  # band: (ratings, sum)

    COUNTS = (
        "mishaps",
        "apologized",
        "repeat_failures",
        "promises_due",
        "promises_kept",
        "followups_sent",
        "followups_failed",
        "followups_answered",
        "recovered_ratings",
        "recovered_rating_sum",
        "never_failed_ratings",
        "never_failed_rating_sum",
        "happy",
        "resolved",
        "unhappy",
    )

    def add(self, other: "DayFigures") -> None:
        self.acknowledge_waits.extend(other.acknowledge_waits)
        self.approval_waits.extend(other.approval_waits)
        for name in self.COUNTS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for key, total in other.spend.items():
            self.spend[key] = self.spend.get(key, Decimal(0)) + total
        for band, (ratings, rating_sum) in other.bands.items():
            had = self.bands.get(band, (0, 0))
            self.bands[band] = (had[0] + ratings, had[1] + rating_sum)

    def is_empty(self) -> bool:
        return not (
            len(self.acknowledge_waits)
            or len(self.approval_waits)
            or self.spend
            or self.bands
            or any(getattr(self, name) for name in self.COUNTS)
        )


def _micros(wait: timedelta) -> int:
    return (wait.days * 86_400 + wait.seconds) * 1_000_000 + wait.microseconds


def _by_day(field_name: str) -> TruncDate:
    return TruncDate(field_name, tzinfo=timezone.get_default_timezone())


def _waits_by_day(
    rows: QuerySet[Any], start: str, end: str, *, day_of: str | None = None
) -> dict[date, "Waits"]:
    """Each day's waits from ``start`` to ``end`` (both set on every row), the
    day taken from ``day_of`` (``start`` when not given)."""
    waits: dict[date, list[int]] = {}
    for when, began, ended in (
        rows.annotate(day=_by_day(day_of or start)).values_list("day", start, end).order_by()
    ):
        waits.setdefault(when, []).append(_micros(ended - began))
    return {when: Waits.of(values) for when, values in waits.items()}


def figures_by_day(first: date, last: date) -> dict[date, DayFigures]:
    """Each day from ``first`` to ``last`` with anything to count, in eight
    queries whatever the span (none for an empty span)."""
    days: dict[date, DayFigures] = {}
    if first > last:
        return days
    since, until = _bounds(first, last)

    def of(day: date) -> DayFigures:
        return days.setdefault(day, DayFigures())

    created = Ticket.objects.filter(created_at__gte=since, created_at__lt=until)
    for row in (
        created.annotate(day=_by_day("created_at"))
        .values("day")
        .annotate(
            n_mishaps=Count("pk", filter=Q(kind=Kind.MISHAP)),
            n_apologized=Count("pk", filter=Q(kind=Kind.MISHAP, apologized_at__isnull=False)),
            n_repeats=Count("pk", filter=Q(is_repeat_failure=True)),
        )
        .order_by()
    ):
        day = of(row["day"])
        day.mishaps, day.apologized = row["n_mishaps"], row["n_apologized"]
        day.repeat_failures = row["n_repeats"]
    # The waits themselves, not their median: a range's median is over all of them.
    for when, waits in _waits_by_day(
        created.filter(acknowledged_at__isnull=False), "created_at", "acknowledged_at"
    ).items():
        of(when).acknowledge_waits = waits

    for row in (
        Commitment.objects.filter(due_at__gte=since, due_at__lt=until)
        .annotate(day=_by_day("due_at"))
        .values("day")
        .annotate(
            n_due=Count("pk"),
            n_kept=Count("pk", filter=Q(fulfilled_at__isnull=False, fulfilled_at__lte=F("due_at"))),
        )
        .order_by()
    ):
        day = of(row["day"])
        day.promises_due, day.promises_kept = row["n_due"], row["n_kept"]

    for row in (
        SpendEntry.objects.filter(created_at__gte=since, created_at__lt=until)
        .annotate(day=_by_day("created_at"))
        .values("day", "user_id", "user__username", "restitution__kind", "currency")
        .annotate(total=Sum("amount"))
        .order_by()
    ):
        key = (row["user_id"], row["user__username"], row["restitution__kind"], row["currency"])
        of(row["day"]).spend[key] = row["total"]

    for when, waits in _waits_by_day(
        ApprovalRequest.objects.filter(decided_at__gte=since, decided_at__lt=until),
        "created_at",
        "decided_at",
        day_of="decided_at",
    ).items():
        of(when).approval_waits = waits

    for row in (
        FollowUp.objects.filter(due_at__gte=since, due_at__lt=until)
        .annotate(day=_by_day("due_at"))
        .values("day")
        .annotate(
            n_sent=Count("pk", filter=Q(status=FollowUp.Status.SENT)),
            n_failed=Count("pk", filter=Q(status=FollowUp.Status.FAILED)),
            n_answered=Count("pk", filter=Q(status=FollowUp.Status.SENT, feedback__isnull=False)),
        )
        .order_by()
    ):
        day = of(row["day"])
        day.followups_sent, day.followups_failed = row["n_sent"], row["n_failed"]
        day.followups_answered = row["n_answered"]

    given = Feedback.objects.filter(created_at__gte=since, created_at__lt=until)
    had_mishap = Exists(Ticket.objects.filter(customer=OuterRef("customer"), kind=Kind.MISHAP))
    # Grouped by whether the customer ever had a mishap, so that the
    # subquery is computed once a row rather than once an aggregate.
    for row in (
        given.annotate(had_mishap=had_mishap, day=_by_day("created_at"))
        .values("day", "had_mishap")
        .annotate(
            n=Count("pk"),
            total=Sum("rating"),
            n_happy=Count("pk", filter=Q(rating__gte=4)),
            n_resolved=Count("pk", filter=Q(rating__gte=3)),
            n_unhappy=Count("pk", filter=Q(rating__lte=2)),
        )
        .order_by()
    ):
        day = of(row["day"])
        if row["had_mishap"]:
            day.recovered_ratings, day.recovered_rating_sum = row["n"], row["total"]
            day.resolved = row["n_resolved"]
        else:
            day.never_failed_ratings, day.never_failed_rating_sum = row["n"], row["total"]
            day.happy = row["n_happy"]
        day.unhappy += row["n_unhappy"]

    for row in (
        banded(given)
        .annotate(day=_by_day("created_at"))
        .order_by()
        .values("day", "band")
        .annotate(n=Count("pk"), total=Sum("rating"))
    ):
        of(row["day"]).bands[row["band"]] = (row["n"], row["total"])
    return days


def total(days: Iterable[DayFigures]) -> DayFigures:
    result = DayFigures()
    for day in days:
        result.add(day)
    return result


def _median_seconds(waits: Waits) -> float | None:
    """The median wait in seconds, as percentile_cont gives it."""
    value = waits.median()
    return value / 1_000_000 if value is not None else None


def _average(rating_sum: int, ratings: int) -> float | None:
    return rating_sum / ratings if ratings else None


def metrics_of(start: date, end: date, figures: DayFigures) -> TrustMetrics:
    """The range's figures from what its days add up to, rounded as
    the figures were always rounded."""
    f = figures
    to_acknowledge = _median_seconds(f.acknowledge_waits)
    to_approval = _median_seconds(f.approval_waits)
    recovered = _average(f.recovered_rating_sum, f.recovered_ratings)
    never_failed = _average(f.never_failed_rating_sum, f.never_failed_ratings)
    # Ordered as the live query orders them (by username, then kind), then by currency.
    spend = sorted(f.spend.items(), key=lambda item: (item[0][1], item[0][2], item[0][3]))

    def band_figures(band: str) -> dict[str, Any]:
        ratings, rating_sum = f.bands.get(band, (0, 0))
        return {"count": ratings, "mean_rating": _mean(_average(rating_sum, ratings))}

    return TrustMetrics(
        start=start,
        end=end,
        median_minutes_to_acknowledge=(
            round(to_acknowledge / 60, 1) if to_acknowledge is not None else None
        ),
        mishaps=f.mishaps,
        apology_rate=_ratio(f.apologized, f.mishaps),
        promises_due=f.promises_due,
        promises_kept_rate=_ratio(f.promises_kept, f.promises_due),
        restitution_spend=[
            {
                "user": user,
                "username": username,
                "kind": kind,
                "currency": currency,
                "total": str(amount.quantize(Decimal("0.01"))),
            }
            for (user, username, kind, currency), amount in spend
        ],
        median_hours_to_approval=round(to_approval / 3600, 2) if to_approval is not None else None,
        followups_sent=f.followups_sent,
        followups_failed=f.followups_failed,
        followup_delivery_rate=_ratio(f.followups_sent, f.followups_sent + f.followups_failed),
        followup_response_rate=_ratio(f.followups_answered, f.followups_sent),
        recovered_average_rating=round(recovered, 2) if recovered is not None else None,
        never_failed_average_rating=round(never_failed, 2) if never_failed is not None else None,
        recovery_paradox_index=(
            round(recovered / never_failed, 3) if recovered and never_failed else None
        ),
        repeat_failures=f.repeat_failures,
        word_of_mouth={
            "happy_tell": f.happy * TELLS_HAPPY,
            "resolved_tell": f.resolved * TELLS_RESOLVED,
            "unhappy_tell": f.unhappy * TELLS_UNHAPPY,
        },
        compensation_effectiveness=[
            {"band": band, "label": label, **band_figures(band)} for band, label in BANDS
        ],
        compensation_loss_not_stated=band_figures(LOSS_NOT_STATED),
    )


def series_of(
    start: date, end: date, bucket: str, days: dict[date, DayFigures]
) -> list[SeriesPoint]:
    """The series of day or ISO-week buckets from the days' figures, every bucket
    of the range filled in (empty ones with null rates)."""
    points = []
    step = 1 if bucket == "day" else 7
    for first in _bucket_starts(start, end, bucket):
        mishaps = apologized = due = kept = 0
        for offset in range(step):
            day = days.get(first + timedelta(days=offset))
            if day is not None and start <= first + timedelta(days=offset) <= end:
                mishaps += day.mishaps
                apologized += day.apologized
                due += day.promises_due
                kept += day.promises_kept
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


def local_day(moment: datetime) -> date:
    return timezone.localtime(moment, timezone.get_default_timezone()).date()
