"""OpenAPI schema: every operation documents the problem responses it can give,
so clients see one error shape everywhere."""

from typing import Any

from drf_spectacular.openapi import AutoSchema
from rest_framework.permissions import AllowAny

from core.schema import (
    PayloadTooLargeProblemSerializer,
    ProblemSerializer,
    ValidationProblemSerializer,
)
from core.serializers import RejectUnknownFieldsMixin
from helpdesk.api.problems import PROBLEM_CONTENT_TYPE

_BODY_METHODS = {"POST", "PUT", "PATCH"}
_RETRY_AFTER = {
    "schema": {"type": "integer", "minimum": 0},
    "description": "Seconds to wait before trying again.",
}


class ProblemAutoSchema(AutoSchema):
    def _get_request_for_media_type(self, serializer: Any, direction: Any = "request") -> Any:
        schema, required = super()._get_request_for_media_type(serializer, direction)
        if isinstance(serializer, dict) and serializer.get("minLength", 0) > 0:
            # A raw body that may not be empty (the mail gateway's message):
            # without one the request is malformed, so the body is required.
            required = True
        return schema, required

    def _map_basic_serializer(self, serializer: Any, direction: Any) -> dict[str, Any]:
        schema: dict[str, Any] = super()._map_basic_serializer(serializer, direction)
        if direction == "request" and isinstance(serializer, RejectUnknownFieldsMixin):
            # These bodies refuse members they do not name (a 400 per member).
            schema["additionalProperties"] = False
        return schema

    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses: dict[str, Any] = super()._get_response_bodies(direction)
        for code, serializer in self._problem_responses().items():
            if code not in responses:
                responses[code] = self._get_response_for_code(
                    serializer, code, [PROBLEM_CONTENT_TYPE], direction
                )
        if "429" in responses:
            responses["429"].setdefault("headers", {})["Retry-After"] = _RETRY_AFTER
        return responses

    def _problem_responses(self) -> dict[str, type[ProblemSerializer]]:
        problems: dict[str, type[ProblemSerializer]] = {
            # Any request can be malformed: a NUL in a header or query string,
            # a filter or page size out of range (helpdesk.middleware, filters).
            "400": ValidationProblemSerializer,
            "406": ProblemSerializer,
        }
        if self.method in _BODY_METHODS:
            problems["413"] = PayloadTooLargeProblemSerializer
            problems["415"] = ProblemSerializer
        if not all(isinstance(p, AllowAny) for p in self.view.get_permissions()):
            problems["401"] = ProblemSerializer
            problems["403"] = ProblemSerializer
        if "{" in self.path or self._is_list():
            # A list's page past the end, or an unknown cursor, is a 404.
            problems["404"] = ProblemSerializer
        # Failed token authentication and the anonymous endpoints are throttled.
        problems["429"] = ProblemSerializer
        problems["500"] = ProblemSerializer
        return problems

    def _is_list(self) -> bool:
        return self.method == "GET" and self._is_list_view()
