"""Serializer helpers shared by the apps' APIs.

Input fields are strict: DRF by default turns ``123`` into ``"123"``,
``"yes"`` and ``0`` into booleans and ``1.5`` into an amount, so a client's
type mistake passes unseen. Ours refuse anything but the documented JSON type,
and their OpenAPI schema says exactly what they take."""

import functools
import re
import zoneinfo
from decimal import Decimal
from typing import Any

from django.core.validators import EmailValidator
from django.db.models import QuerySet
from django.utils.dateparse import parse_datetime
from django.utils.timezone import is_naive
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.fields import empty

from core.addresses import validate_mailbox
from core.errors import RuleViolation
from core.money import CURRENCIES, DECIMAL_PLACES, MAX_DIGITS


class StrictCharField(serializers.CharField):
    """Text only as a JSON string. Kept as sent: trimming here would let
    "   " pass a schema's minLength and then fail as blank, and a string over
    maxLength pass once trimmed; the services trim, and refuse empty text
    as a broken rule (422)."""

    default_error_messages = {"invalid": "Must be a string."}

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return str(super().to_internal_value(data))


class MailboxField(serializers.EmailField):
    """A customer's email address, internationalised ones included (RFC 6532,
    ``core.addresses``): Django's validator, which DRF's EmailField runs,
    refuses ``jdöe@mächine.example``. Still ``format: email`` in the schema."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 254)
        super().__init__(**kwargs)
        self.validators = [v for v in self.validators if not isinstance(v, EmailValidator)] + [
            validate_mailbox
        ]


class StrictBooleanField(serializers.BooleanField):
    """A boolean only as JSON ``true`` or ``false``."""

    default_error_messages = {"invalid": "Must be true or false."}

    def to_internal_value(self, data: Any) -> bool:
        if data is True or data is False:
            return data
        self.fail("invalid")
        raise AssertionError("unreachable")  # fail() raises


class StrictChoiceField(serializers.ChoiceField):
    """One of the choices, as a JSON string (DRF would match ``1`` to ``"1"``)."""

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, str):
            self.fail("invalid_choice", input=data)
        return super().to_internal_value(data)


class DecimalStringField(serializers.DecimalField):
    """Money as a decimal string (``"12.50"``), never a JSON number: a float
    such as 0.1 is not the amount its writer meant. The schema's pattern and
    the check here are the same expression."""

    default_error_messages = {
        "not_a_string": 'Send the amount as a decimal string, such as "12.50".',
    }

    def __init__(
        self,
        *,
        max_digits: int = MAX_DIGITS,
        decimal_places: int = DECIMAL_PLACES,
        negative: bool = False,
        **kwargs: Any,
    ) -> None:
        if not negative:
            kwargs.setdefault("min_value", Decimal(0))
        super().__init__(max_digits=max_digits, decimal_places=decimal_places, **kwargs)
        whole = max_digits - decimal_places
        sign = "-?" if negative else ""
        self.pattern = re.compile(f"^{sign}[0-9]{{1,{whole}}}(\\.[0-9]{{1,{decimal_places}}})?$")
        extend_schema_field(  # type: ignore[type-var]  # an instance, not a class
            {
                "type": "string",
                "format": "decimal",
                "pattern": self.pattern.pattern,
                "example": "12.50",
            }
        )(self)

    def to_internal_value(self, data: Any) -> Decimal:
        if not isinstance(data, str):
            self.fail("not_a_string")
        if not self.pattern.fullmatch(data):  # "$" alone would let "1\n" through
            # DRF's own check names what is wrong ("no more than 2 decimal
            # places", too many digits) where it can; "invalid" otherwise.
            super().to_internal_value(data)
            self.fail("invalid")
        return Decimal(super().to_internal_value(data))


class CurrencyField(StrictChoiceField):
    """An ISO 4217 code of a currency in use (core.money.CURRENCIES), in capitals."""

    default_error_messages = {
        "invalid_choice": "{input!r} is not an ISO 4217 currency code in use, such as EUR."
    }

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=_CURRENCY_CHOICES, **kwargs)

    def _set_currency_choices(self, choices: Any) -> None:
        # DRF builds three lookups from the choices for every field it makes
        # (each request's serializer makes its own): a third of a grant's
        # validation for some 150 currencies. The same every time: kept.
        if choices is not _CURRENCY_CHOICES:
            serializers.ChoiceField._set_choices(self, choices)
            return
        self.grouped_choices, self._choices, self.choice_strings_to_values = _currency_lookups()

    choices = property(serializers.ChoiceField._get_choices, _set_currency_choices)


_CURRENCY_CHOICES = tuple(sorted(CURRENCIES))


@functools.cache
def _currency_lookups() -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """What DRF's ChoiceField builds from the currencies (its grouped and
    flat choices, its strings to values); read, never changed."""
    field = serializers.ChoiceField(choices=_CURRENCY_CHOICES)
    return field.grouped_choices, field._choices, field.choice_strings_to_values


class RejectUnknownFieldsMixin(serializers.Serializer):
    """Refuse fields the endpoint does not take, rather than ignoring them, so
    a client that sends ``status`` learns it was not applied."""

    unknown_field_hints: dict[str, str] = {}

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError(
                    {
                        name: self.unknown_field_hints.get(name, "This field cannot be set here.")
                        for name in unknown
                    }
                )
        return super().to_internal_value(data)


# A reference of the right type to nothing that exists is a broken rule (422,
# naming the field), not a malformed request: the JSON is what the schema
# asks for, and only the database knows the rest.


def _find(field: serializers.RelatedField, **lookup: Any) -> Any:
    queryset: QuerySet[Any] | None = field.get_queryset()
    found = queryset.filter(**lookup).first() if queryset is not None else None
    if found is None:
        value = next(iter(lookup.values()))
        raise RuleViolation(
            f"Nothing with {value!r} can be chosen here.", field=str(field.field_name)
        )
    return found


class ExistingPrimaryKeyField(serializers.PrimaryKeyRelatedField):
    """An object's id, as a JSON integer only."""

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, int) or isinstance(data, bool):
            self.fail("incorrect_type", data_type=type(data).__name__)
        return _find(self, pk=data)


class ExistingSlugField(serializers.SlugRelatedField):
    """An object's slug, as a JSON string only."""

    default_error_messages = {"invalid": "Must be a non-empty string, or null."}

    def run_validation(self, data: Any = empty) -> Any:
        # DRF reads "" as null (for HTML forms); in JSON it is an empty slug.
        if data == "":
            self.fail("invalid")
        return super().run_validation(data)

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, str):
            self.fail("invalid")
        return _find(self, **{self.slug_field: data})


class TimeZoneField(StrictChoiceField):
    """An IANA time zone name, from the zones this Python knows."""

    default_error_messages = {
        "invalid_choice": "{input} is not a known time zone; use an IANA name such as Europe/Paris."
    }

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=sorted(zoneinfo.available_timezones()), **kwargs)


class ReasonSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    reason = StrictCharField(max_length=2000)


class OptionalReasonSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    reason = StrictCharField(max_length=2000, required=False, allow_blank=True, default="")


class AwareDateTimeField(serializers.DateTimeField):
    """An ISO 8601 time that must carry its offset: a bare local time is
    ambiguous between the agent's, the customer's and the server's zones."""

    def to_internal_value(self, value: Any) -> Any:
        if not isinstance(value, str):
            self.fail("invalid", format="an ISO 8601 string with its offset")
        try:
            parsed = parse_datetime(value.strip())
        except ValueError:  # well formed but impossible, such as 12:99
            self.fail("invalid", format="an ISO 8601 time with its offset")
        if parsed is not None and is_naive(parsed):
            raise serializers.ValidationError(
                "Give the time with its offset, for example 2026-11-30T17:00:00+01:00."
            )
        try:
            return super().to_internal_value(value)
        except serializers.ValidationError as exc:
            if exc.get_codes() != ["overflow"]:
                raise
            # A valid ISO 8601 time that no datetime holds once in UTC (year 1
            # or 9999 with an offset): well formed, and out of every rule's range.
            raise RuleViolation(
                "This time is outside the range the desk can store.", field=str(self.field_name)
            ) from None


# One instance of each serializer ``represented`` renders with, kept a process.
_RENDERERS: dict[type[serializers.Serializer], serializers.Serializer] = {}


def represented(serializer: type[serializers.Serializer], instance: Any) -> dict[str, Any]:
    """``serializer(instance).data`` as a plain dict, rendered by one
    instance of ``serializer`` kept a process. DRF builds a serializer's
    fields for each instance (deep copies of the declared ones, and a
    ModelSerializer's from its model), which for one object costs more than
    rendering it. For output without context only (no request, nothing the
    fields look up from it); rendering reads the kept fields and changes
    none, so threads share them."""
    renderer = _RENDERERS.get(serializer)
    if renderer is None:
        renderer = serializer()
        renderer.fields  # noqa: B018 (built now, before any thread shares it)
        renderer = _RENDERERS.setdefault(serializer, renderer)
    return dict(renderer.to_representation(instance))
