"""Moments as a customer reads them: in their own time zone, the zone named
where a time of day is given, so "17:00" is never ambiguous. Formatted with
Django's date formats, whose day and month names follow the active language
once the emails are translated."""

from datetime import datetime
from zoneinfo import ZoneInfo

from django.utils import timezone
from django.utils.dateformat import format as date_format


def customer_date(moment: datetime, zone: ZoneInfo) -> str:
    """The day ``moment`` falls on in ``zone``: "8 December 2026"."""
    return date_format(timezone.localtime(moment, zone).date(), "j F Y")


def customer_datetime(moment: datetime, zone: ZoneInfo) -> str:
    """``moment`` as a wall time in ``zone``, without the zone's name (the
    sentence around it names it): "Tuesday 8 December 2026, 17:00"."""
    return date_format(timezone.localtime(moment, zone), "l j F Y, H:i")
