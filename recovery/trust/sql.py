"""Two SQL pieces the trust figures need, on PostgreSQL and on the SQLite of
the local demo alike: a span in seconds, and a median."""

import statistics
from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Aggregate, FloatField, Func


class Seconds(Func):
    """``later - earlier`` in seconds, as a float."""

    output_field = FloatField()

    def __init__(self, later: str, earlier: str) -> None:
        super().__init__(later, earlier)

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(
            compiler,
            connection,
            template="EXTRACT(EPOCH FROM (%(expressions)s))::float",
            arg_joiner=" - ",
            **extra,
        )

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        # Django's SQLite datetimes are ISO text; julianday counts in days.
        return self.as_sql(
            compiler,
            connection,
            template="((julianday(%(expressions)s)) * 86400.0)",
            arg_joiner=") - julianday(",
            **extra,
        )


class Median(Aggregate):
    """The median of a number column, nulls left out."""

    function = "percentile_cont"
    template = "%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(
            compiler,
            connection,
            function=SQLITE_MEDIAN,
            template="%(function)s(%(expressions)s)",
            **extra,
        )


SQLITE_MEDIAN = "helpdesk_median"


class _SQLiteMedian:
    def __init__(self) -> None:
        self.values: list[float] = []

    def step(self, value: float | None) -> None:
        if value is not None:
            self.values.append(value)

    def finalize(self) -> float | None:
        return statistics.median(self.values) if self.values else None


def add_sqlite_median(sender: Any, connection: BaseDatabaseWrapper, **kwargs: Any) -> None:
    """Connected to ``connection_created``: SQLite has no percentile_cont."""
    if connection.vendor == "sqlite":
        connection.connection.create_aggregate(SQLITE_MEDIAN, 1, _SQLiteMedian)
