"""OpenAPI schema: every operation documents the problem responses it can give,
so clients see one error shape everywhere."""

from typing import Any

from drf_spectacular.openapi import AutoSchema
from rest_framework import serializers
from rest_framework.permissions import AllowAny

from helpdesk.api.problems import PROBLEM_CONTENT_TYPE


class ProblemSerializer(serializers.Serializer):
    """RFC 9457 problem details."""

    type = serializers.CharField(help_text="URI reference of the problem type; documented there.")
    title = serializers.CharField(help_text="Short summary of the problem type.")
    status = serializers.IntegerField(help_text="The HTTP status code.")
    detail = serializers.CharField(help_text="What went wrong with this request.")


class ValidationProblemSerializer(ProblemSerializer):
    # The metaclass moves declared fields out of the class body, so this does
    # not shadow Serializer.errors at run time; only the type checker sees it.
    errors = serializers.DictField(  # type: ignore[assignment]
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Messages per field; `non_field_errors` for the rest.",
    )


class PayloadTooLargeProblemSerializer(ProblemSerializer):
    limit_bytes = serializers.IntegerField()


_BODY_METHODS = {"POST", "PUT", "PATCH"}


class ProblemAutoSchema(AutoSchema):
    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses: dict[str, Any] = super()._get_response_bodies(direction)
        for code, serializer in self._problem_responses().items():
            if code not in responses:
                responses[code] = self._get_response_for_code(
                    serializer, code, [PROBLEM_CONTENT_TYPE], direction
                )
        return responses

    def _problem_responses(self) -> dict[str, type[ProblemSerializer]]:
        problems: dict[str, type[ProblemSerializer]] = {}
        if self.method in _BODY_METHODS:
            problems["400"] = ValidationProblemSerializer
            problems["413"] = PayloadTooLargeProblemSerializer
        if not all(isinstance(p, AllowAny) for p in self.view.get_permissions()):
            problems["401"] = ProblemSerializer
            problems["403"] = ProblemSerializer
        if "{" in self.path:
            problems["404"] = ProblemSerializer
        problems["500"] = ProblemSerializer
        return problems
