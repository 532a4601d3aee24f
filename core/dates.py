"""Moments as a customer reads them: in their own time zone and language,
with the zone named where a time of day is given, so "17:00" is never
ambiguous. Formatted by Babel from CLDR, in the language active now (see
core.languages.speaking): "8. Dezember 2026", "terça-feira, 8 de dezembro
de 2026 17:00"."""

from datetime import date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from babel import dates as babel_dates
from django.utils import timezone

from core.languages import babel_locale, current_language


def customer_date(moment: datetime, zone: ZoneInfo) -> str:
    """The day ``moment`` falls on in ``zone``: "December 8, 2026"."""
    return _long_date(timezone.localtime(moment, zone).date(), babel_locale(current_language()))


# A follow-up batch names the same few days and zones in every mail, and
# Babel reads its CLDR patterns again for each: formatted once a process.
@lru_cache(maxsize=4096)
def _long_date(day: date, locale: str) -> str:
    return str(babel_dates.format_date(day, "long", locale=locale))


def customer_datetime(moment: datetime, zone: ZoneInfo) -> str:
    """``moment`` as a wall time in ``zone``, without the zone's name (the
    sentence around it names it, see ``zone_name``): "Tuesday, December 8,
    2026, 5:00 PM"."""
    locale = babel_locale(current_language())
    local = timezone.localtime(moment, zone)
    day = babel_dates.format_date(local.date(), "full", locale=locale)
    time = babel_dates.format_time(local, "short", tzinfo=zone, locale=locale)
    pattern = str(babel_dates.get_datetime_format("full", locale=locale))
    return pattern.replace("{1}", day).replace("{0}", time)


def zone_name(zone: ZoneInfo) -> str:
    """The zone by the place it is kept in, in the reader's language:
    "Brazil (São Paulo) Time", "heure : Brésil (São Paulo)"."""
    return _zone_name(zone, babel_locale(current_language()))


@lru_cache(maxsize=1024)
def _zone_name(zone: ZoneInfo, locale: str) -> str:
    return str(babel_dates.get_timezone_location(zone, locale=locale))


def customer_moment(moment: datetime, zone: ZoneInfo) -> str:
    """A short moment in ``zone``, for a list of messages: "Dec 4, 2026, 5:29 AM"."""
    local = timezone.localtime(moment, zone)
    locale = babel_locale(current_language())
    return str(babel_dates.format_datetime(local, "medium", tzinfo=zone, locale=locale))
