"""Serializer helpers shared by the apps' APIs."""

from typing import Any

from django.utils.dateparse import parse_datetime
from django.utils.timezone import is_naive
from rest_framework import serializers


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


class ReasonSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    reason = serializers.CharField(max_length=2000)


class OptionalReasonSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    reason = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class AwareDateTimeField(serializers.DateTimeField):
    """An ISO 8601 time that must carry its offset: a bare local time is
    ambiguous between the agent's, the customer's and the server's zones."""

    def to_internal_value(self, value: Any) -> Any:
        if isinstance(value, str):
            parsed = parse_datetime(value.strip())
            if parsed is not None and is_naive(parsed):
                raise serializers.ValidationError(
                    "Give the time with its offset, for example 2026-11-30T17:00:00+01:00."
                )
        return super().to_internal_value(value)
