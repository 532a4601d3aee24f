"""The trust dashboard's figures for a date range.

``trust_metrics`` and ``trust_figures`` read the daily rollups
(``recovery.metrics.rollup``, whose docstring says how current they are), so
a range costs four queries and a row a day, whatever its length and the
desk's size. The same figures computed straight from the source tables,
the reference the rollups are tested against, are the tests' own
(``tests/recovery/reference_metrics.py``).
"""

from datetime import date

from recovery.metrics.daily import metrics_of, series_of
from recovery.metrics.figures import (
    BUCKETS,
    DATE_RANGE_TEXT,
    EARLIEST_DATE,
    LATEST_DATE,
    TELLS_HAPPY,
    TELLS_RESOLVED,
    TELLS_UNHAPPY,
    AgentSpend,
    SeriesPoint,
    TrustMetrics,
    _bounds,
    bucket_for,
    budget_for_range,
    spend_against_budget,
)
from recovery.metrics.rollup import figures_for_range


def trust_metrics(*, start: date, end: date) -> TrustMetrics:
    """The figures of ``start`` to ``end`` (inclusive, days in the desk's zone)."""
    totals, _days = figures_for_range(start, end)
    return metrics_of(start, end, totals)


def trust_figures(*, start: date, end: date, bucket: str) -> tuple[TrustMetrics, list[SeriesPoint]]:
    """The figures and the series of the dashboard, from one read of the days."""
    if bucket not in BUCKETS:
        raise ValueError(f"bucket is one of {BUCKETS}, not {bucket!r}")
    totals, days = figures_for_range(start, end)
    return metrics_of(start, end, totals), series_of(start, end, bucket, days)


__all__ = [
    "BUCKETS",
    "DATE_RANGE_TEXT",
    "EARLIEST_DATE",
    "LATEST_DATE",
    "TELLS_HAPPY",
    "TELLS_RESOLVED",
    "TELLS_UNHAPPY",
    "AgentSpend",
    "SeriesPoint",
    "TrustMetrics",
    "_bounds",
    "bucket_for",
    "budget_for_range",
    "spend_against_budget",
    "trust_figures",
    "trust_metrics",
]
