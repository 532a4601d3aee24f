"""Checks on settings values, so a typo fails at start with a clear message."""

import zoneinfo

from django.core.exceptions import ImproperlyConfigured

from core.money import is_currency


def validate_time_zone(name: str, *, setting: str) -> str:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ImproperlyConfigured(
            f"{setting}={name!r} is not an IANA time zone name (for example 'Europe/Paris')."
        ) from exc
    return name


def validate_currency(code: str) -> str:
    if not is_currency(code):
        raise ImproperlyConfigured(
            f"DEFAULT_CURRENCY={code!r} is not an ISO 4217 code of a currency in use, "
            "in capitals (for example 'EUR')."
        )
    return code


def validate_range(value: float, *, setting: str, low: float, high: float | None = None) -> float:
    """A number setting within [low, high] (no upper bound when ``high`` is None)."""
    if value < low or (high is not None and value > high):
        bound = f"from {low} to {high}" if high is not None else f"{low} or more"
        raise ImproperlyConfigured(f"{setting}={value!r} must be {bound}.")
    return value
