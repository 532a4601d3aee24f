import re
import zoneinfo

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _


def validate_time_zone(value: str) -> None:
    if not value:
        return
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValidationError(
            _("%(value)s is not a known time zone; use an IANA name such as Europe/Paris."),
            code="invalid_time_zone",
            params={"value": value},
        ) from None


_LOCALE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")


def validate_locale(value: str) -> None:
    if not _LOCALE.match(value):
        raise ValidationError(
            _("%(value)s is not a language tag; use one such as en, fr or pt-BR."),
            code="invalid_locale",
            params={"value": value},
        )
