"""The dashboard's date range, one rule for the console page and the API:
dates from ``EARLIEST_DATE`` to ``LATEST_DATE``, a start not after the end,
at most so many days counted inclusively, and by default the last 30 days
ending today.

Two things are the caller's to say, because the page and the API differ by
design:

- the longest range. The page draws a point a day or a week for the range,
  so it stops at a leap year (``PAGE_MAX_DAYS``): enough to compare with last
  year, few enough points to read. The API answers totals only, which cost
  the same few queries over the daily rollups whatever the range, so it
  allows ten years (``API_MAX_DAYS``).
- the zone whose "today" ends the default range. The page's is the viewer's
  (the console activates their zone), so their default ends on their own
  today; the API's dates are documented as the deployment's, the zone the
  rollups' days are in, and a client over a token has no zone of its own.
"""

from datetime import date, timedelta, tzinfo

from django.utils import timezone

from core import clock
from recovery.metrics.figures import DATE_RANGE_TEXT, EARLIEST_DATE, LATEST_DATE

DEFAULT_DAYS = 30
PAGE_MAX_DAYS = 366
API_MAX_DAYS = 3660


def last_days(days: int, *, zone: tzinfo | None = None) -> tuple[date, date]:
    """The range of ``days`` days ending today in ``zone`` (by default the
    active zone: the viewer's in the console)."""
    end = timezone.localdate(clock.now(), zone)
    return end - timedelta(days=days - 1), end


def default_range(*, zone: tzinfo | None = None) -> tuple[date, date]:
    """The range shown when none is asked for: the last ``DEFAULT_DAYS`` days."""
    return last_days(DEFAULT_DAYS, zone=zone)


def date_error(day: date) -> str | None:
    """Why ``day`` cannot be one end of a range, or None: the rollups hold
    only the dates from ``EARLIEST_DATE`` to ``LATEST_DATE``."""
    if EARLIEST_DATE <= day <= LATEST_DATE:
        return None
    return f"Choose a date from {DATE_RANGE_TEXT}."


def range_error(start: date, end: date, *, max_days: int) -> str | None:
    """Why ``start`` to ``end`` (each a valid date) is not a range to show,
    or None. Both ends count, so a leap year is 366 days."""
    if start > end:
        return "The start date comes after the end date."
    days = (end - start).days + 1
    if days > max_days:
        return f"Choose a range of {max_days} days at most; this one has {days}."
    return None
