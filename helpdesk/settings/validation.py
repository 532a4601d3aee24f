"""Checks on settings values, so a typo fails at start with a clear message."""

import re
import zoneinfo

from django.core.exceptions import ImproperlyConfigured

_CURRENCY = re.compile(r"^[A-Z]{3}$")


def validate_time_zone(name: str, *, setting: str) -> str:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ImproperlyConfigured(
            f"{setting}={name!r} is not an IANA time zone name (for example 'Europe/Paris')."
        ) from exc
    return name


def validate_currency(code: str) -> str:
    if not _CURRENCY.match(code):
        raise ImproperlyConfigured(
            f"DEFAULT_CURRENCY={code!r} is not an ISO 4217 code of three capital letters "
            "(for example 'EUR')."
        )
    return code
