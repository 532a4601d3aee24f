"""RFC 9457 problem types: one registry, used by the API's exception handler,
by Django's error handlers for ``/api/`` paths and by the ``/problems/`` pages
that document each type."""

from dataclasses import dataclass
from typing import Any

from django.http import JsonResponse

PROBLEM_CONTENT_TYPE = "application/problem+json"


@dataclass(frozen=True)
class ProblemType:
    slug: str
    title: str
    status: int
    description: str

    @property
    def uri(self) -> str:
        # A relative reference, resolved against the API's own origin, where
        # /problems/<slug>/ documents it (RFC 9457, section 3.1.1).
        return f"/problems/{self.slug}/"


PROBLEM_TYPES: dict[str, ProblemType] = {
    problem.slug: problem
    for problem in (
        ProblemType(
            "malformed-request",
            "Malformed request",
            400,
            "The body could not be parsed: it is not valid JSON, or not the media type it claims.",
        ),
        ProblemType(
            "validation-error",
            "Invalid request",
            400,
            "The body parsed but some fields are missing or wrong. The `errors` member maps "
            "each field to its messages; `non_field_errors` holds the rest.",
        ),
        ProblemType(
            "not-authenticated",
            "Authentication required",
            401,
            "Send `Authorization: Token <key>` (integrations) or log in (console).",
        ),
        ProblemType(
            "authentication-failed",
            "Authentication failed",
            401,
            "The credentials given were not valid: an unknown token or an inactive user.",
        ),
        ProblemType(
            "permission-denied",
            "Not allowed",
            403,
            "You are authenticated but your role does not allow this action.",
        ),
        ProblemType(
            "not-found",
            "Not found",
            404,
            "Nothing exists at this address, or you are not allowed to know that it does.",
        ),
        ProblemType(
            "method-not-allowed",
            "Method not allowed",
            405,
            "This address does not accept the HTTP method used; the `Allow` header lists those "
            "it accepts.",
        ),
        ProblemType(
            "not-acceptable",
            "Not acceptable",
            406,
            "The `Accept` header asks for a representation this API does not produce.",
        ),
        ProblemType(
            "transition-not-allowed",
            "Transition not allowed now",
            409,
            "The ticket is not ready for this step. `missing_steps` lists, in order, the "
            "steps that must come first; `current_status` is where the ticket stands.",
        ),
        ProblemType(
            "conflict",
            "Changed meanwhile",
            409,
            "Someone changed this at the same moment; reload it and try again.",
        ),
        ProblemType(
            "rule-violation",
            "Not allowed by the rules",
            422,
            "The request is well formed but breaks a business rule, named in `detail` (and per "
            "field in `errors` when one field is at fault).",
        ),
        ProblemType(
            "payload-too-large",
            "Request too large",
            413,
            "The request body is over the limit named in `limit_bytes`.",
        ),
        ProblemType(
            "unsupported-media-type",
            "Unsupported media type",
            415,
            "Send `Content-Type: application/json`.",
        ),
        ProblemType(
            "throttled",
            "Too many requests",
            429,
            "Slow down; the `Retry-After` header says when to try again.",
        ),
        ProblemType(
            "server-error",
            "Server error",
            500,
            "Something failed on our side. Nothing was changed by the failed request; it is "
            "safe to retry later.",
        ),
    )
}


def problem_body(
    slug: str, *, detail: str, status: int | None = None, **extra: Any
) -> dict[str, Any]:
    problem = PROBLEM_TYPES[slug]
    return {
        "type": problem.uri,
        "title": problem.title,
        "status": status or problem.status,
        "detail": detail,
        **extra,
    }


def problem_response(
    slug: str, *, detail: str, status: int | None = None, **extra: Any
) -> JsonResponse:
    """A problem as a plain Django response, for errors raised outside DRF."""
    body = problem_body(slug, detail=detail, status=status, **extra)
    return JsonResponse(body, status=body["status"], content_type=PROBLEM_CONTENT_TYPE)
