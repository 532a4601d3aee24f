"""OpenAPI shapes of RFC 9457 problem details, for the apps' endpoints to
name in their schema (``responses={CONFLICT: TransitionProblemSerializer}``)."""

from typing import Any

from rest_framework import serializers

PROBLEM_JSON = "application/problem+json"
CONFLICT = (409, PROBLEM_JSON)
UNPROCESSABLE = (422, PROBLEM_JSON)


class ProblemSerializer(serializers.Serializer):
    """RFC 9457 problem details."""

    type = serializers.CharField(help_text="URI reference of the problem type; documented there.")
    title = serializers.CharField(help_text="Short summary of the problem type.")
    status = serializers.IntegerField(help_text="The HTTP status code.")
    detail = serializers.CharField(help_text="What went wrong with this request.")


class ValidationProblemSerializer(ProblemSerializer):
    """A 400: ``validation-error`` (with ``errors``) or ``malformed-request``
    (a body that does not parse, or text no one can store; no ``errors``)."""

    # The metaclass moves declared fields out of the class body, so this does
    # not shadow Serializer.errors at run time; only the type checker sees it.
    errors = serializers.DictField(  # type: ignore[assignment]
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="Messages per field (`non_field_errors` for the rest); always present "
        "for `validation-error`, absent for `malformed-request`.",
    )


class RuleProblemSerializer(ProblemSerializer):
    errors = serializers.DictField(  # type: ignore[assignment]
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="Present when one field is at fault: its messages.",
    )


class TransitionProblemSerializer(ProblemSerializer):
    missing_steps = serializers.ListField(
        child=serializers.CharField(),
        help_text="The steps that must come first, in order (empty when the ticket's "
        "state rules the transition out altogether).",
    )
    current_status = serializers.CharField()


class PayloadTooLargeProblemSerializer(ProblemSerializer):
    limit_bytes = serializers.IntegerField()


__all__: list[Any] = [
    "CONFLICT",
    "PROBLEM_JSON",
    "UNPROCESSABLE",
    "PayloadTooLargeProblemSerializer",
    "ProblemSerializer",
    "RuleProblemSerializer",
    "TransitionProblemSerializer",
    "ValidationProblemSerializer",
]
