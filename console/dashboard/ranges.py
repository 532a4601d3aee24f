"""The dashboard's date range: read from the query string and checked by the
rule of ``recovery.metrics.ranges`` at the page's longest range, defaulting to
the last 30 days in the viewer's time zone."""

from typing import Any

from django import forms
from django.http import HttpRequest

from recovery.metrics.ranges import PAGE_MAX_DAYS, date_error, default_range, range_error

QUICK_RANGES = (7, 30, 90)


def _date_input() -> forms.DateInput:
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class RangeForm(forms.Form):
    start = forms.DateField(label="From", widget=_date_input())
    end = forms.DateField(label="To", widget=_date_input())

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("start"), cleaned.get("end")
        outside = False
        for name, day in (("start", start), ("end", end)):
            error = date_error(day) if day else None
            if error:
                self.add_error(name, error)
                outside = True
        if start and end and not outside:
            error = range_error(start, end, max_days=PAGE_MAX_DAYS)
            if error:
                self.add_error("start", error)
        return cleaned


def range_form(request: HttpRequest) -> RangeForm:
    """The range from the query string; a missing end is today and a missing
    start 30 days before it, in the viewer's time zone (StaffTimeZoneMiddleware
    activates it)."""
    default_start, default_end = default_range()
    data = {
        "start": request.GET.get("start") or default_start.isoformat(),
        "end": request.GET.get("end") or default_end.isoformat(),
    }
    return RangeForm(data)
