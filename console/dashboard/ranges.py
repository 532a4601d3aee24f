"""The dashboard's date range: read from the query string, checked against
the dates the rollups hold and a longest range, defaulting to the last 30
days in the viewer's time zone."""

from datetime import date, timedelta
from typing import Any

from django import forms
from django.http import HttpRequest
from django.utils import timezone

from recovery.metrics import DATE_RANGE_TEXT, EARLIEST_DATE, LATEST_DATE

DEFAULT_DAYS = 30
QUICK_RANGES = (7, 30, 90)
MAX_DAYS = 366  # a leap year: enough to compare with last year, few enough points


def _date_input() -> forms.DateInput:
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class RangeForm(forms.Form):
    start = forms.DateField(label="From", widget=_date_input())
    end = forms.DateField(label="To", widget=_date_input())

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("start"), cleaned.get("end")
        outside = [
            name
            for name, day in (("start", start), ("end", end))
            if day and not EARLIEST_DATE <= day <= LATEST_DATE
        ]
        for name in outside:
            self.add_error(name, f"Choose a date from {DATE_RANGE_TEXT}.")
        if start and end and not outside:
            if start > end:
                self.add_error("start", "The start date comes after the end date.")
            elif (end - start).days + 1 > MAX_DAYS:
                self.add_error(
                    "start",
                    f"Choose a range of {MAX_DAYS} days at most; "
                    f"this one has {(end - start).days + 1}.",
                )
        return cleaned


def _today() -> date:
    # The viewer's zone: StaffTimeZoneMiddleware activates it.
    return timezone.localdate()


def last_days(days: int) -> tuple[date, date]:
    """The range of ``days`` days ending today."""
    end = _today()
    return end - timedelta(days=days - 1), end


def range_form(request: HttpRequest) -> RangeForm:
    """The range from the query string; a missing end is today and a missing
    start 30 days before it, in the viewer's time zone."""
    default_start, default_end = last_days(DEFAULT_DAYS)
    data = {
        "start": request.GET.get("start") or default_start.isoformat(),
        "end": request.GET.get("end") or default_end.isoformat(),
    }
    return RangeForm(data)
