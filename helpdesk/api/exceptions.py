"""One exception handler renders every API error as RFC 9457 problem details."""

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django_fsm import ConcurrentTransition, TransitionNotAllowed
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.views import set_rollback

from core.errors import DomainError
from helpdesk.api.problems import PROBLEM_CONTENT_TYPE, PROBLEM_TYPES, problem_body

# DRF's error codes, mapped to our problem types.
_SLUG_BY_CODE = {
    "parse_error": "malformed-request",
    "invalid": "validation-error",
    "not_authenticated": "not-authenticated",
    "authentication_failed": "authentication-failed",
    "permission_denied": "permission-denied",
    "not_found": "not-found",
    "method_not_allowed": "method-not-allowed",
    "not_acceptable": "not-acceptable",
    "unsupported_media_type": "unsupported-media-type",
    "throttled": "throttled",
}
_SLUG_BY_STATUS = {problem.status: slug for slug, problem in reversed(PROBLEM_TYPES.items())}


class _DomainAPIException(exceptions.APIException):
    def __init__(self, error: DomainError) -> None:
        super().__init__(detail=error.detail)
        self.status_code = error.status
        self.slug = error.slug
        self.problem_extra = error.extra


def _as_api_exception(exc: Exception) -> exceptions.APIException | None:
    if isinstance(exc, DomainError):
        return _DomainAPIException(exc)
    if isinstance(exc, ConcurrentTransition | TransitionNotAllowed):
        conflict = _DomainAPIException(DomainError("Someone changed this ticket meanwhile."))
        conflict.status_code, conflict.slug = 409, "conflict"
        return conflict
    if isinstance(exc, exceptions.APIException):
        return exc
    if isinstance(exc, Http404):
        return exceptions.NotFound()
    if isinstance(exc, DjangoPermissionDenied):
        return exceptions.PermissionDenied()
    if isinstance(exc, DjangoValidationError):
        return exceptions.ValidationError(detail=as_serializer_error(exc))
    return None


def problem_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    api_exc = _as_api_exception(exc)
    if api_exc is None:
        # Unexpected: Django's 500 handler answers with a problem, and logs it.
        return None

    headers: dict[str, str] = {}
    if getattr(api_exc, "auth_header", None):
        headers["WWW-Authenticate"] = str(api_exc.auth_header)  # type: ignore[attr-defined]
    if getattr(api_exc, "wait", None):
        headers["Retry-After"] = str(int(api_exc.wait))  # type: ignore[attr-defined]

    extra: dict[str, Any] = {}
    if isinstance(api_exc, exceptions.ValidationError):
        slug = "validation-error"
        errors = _as_error_lists(api_exc.detail)
        extra["errors"] = errors
        detail = _summarize(errors)
    elif isinstance(api_exc, _DomainAPIException):
        slug = api_exc.slug
        detail = str(api_exc.detail)
        extra.update(api_exc.problem_extra)
    else:
        codes = api_exc.get_codes()
        slug = (_SLUG_BY_CODE.get(codes) if isinstance(codes, str) else None) or (
            _SLUG_BY_STATUS.get(api_exc.status_code, "")
        )
        detail = str(api_exc.detail)
        extra.update(getattr(api_exc, "problem_extra", {}))

    if slug not in PROBLEM_TYPES:
        slug = "server-error" if api_exc.status_code >= 500 else "validation-error"
    body = problem_body(slug, detail=detail, status=api_exc.status_code, **extra)
    set_rollback()
    return Response(
        body,
        status=api_exc.status_code,
        headers=headers,
        content_type=PROBLEM_CONTENT_TYPE,
    )


def _as_error_lists(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """Every field maps to a list of messages, whatever shape the raiser
    used; a nested field or list item is named by its path (``allowed_kinds.0``),
    so ``errors`` has the one shape its schema gives."""
    if not isinstance(detail, dict):
        messages = detail if isinstance(detail, list) else [detail]
        return {prefix or "non_field_errors": [str(m) for m in messages]}
    errors: dict[str, list[str]] = {}
    for field, value in detail.items():
        path = f"{prefix}.{field}" if prefix else str(field)
        if isinstance(value, dict):
            errors.update(_as_error_lists(value, path))
        elif isinstance(value, list) and any(isinstance(m, dict) for m in value):
            # A list of nested serializers: one entry per item, empty when valid.
            for index, item in enumerate(value):
                if item:
                    errors.update(_as_error_lists(item, f"{path}.{index}"))
        else:
            errors.update(_as_error_lists(value, path))
    return errors


def _summarize(errors: Any) -> str:
    """One sentence for `detail` that names the first problem found."""
    if isinstance(errors, dict) and errors:
        field, messages = next(iter(errors.items()))
        first = messages[0] if isinstance(messages, list) and messages else messages
        if isinstance(first, dict):
            return f"{field}: {_summarize(first)}"
        if field == "non_field_errors":
            return str(first)
        return f"{field}: {first}"
    return "The request body is invalid."
