"""Domain errors raised by services. The API maps each to its HTTP status and
problem type in one place (``helpdesk.api.exceptions``); commands and the
console show ``detail``."""

from typing import Any


class DomainError(Exception):
    status = 400
    slug = "validation-error"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class RuleViolation(DomainError):
    """Well-formed input that breaks a business rule (HTTP 422)."""

    status = 422
    slug = "rule-violation"

    def __init__(self, detail: str, *, field: str | None = None, **extra: Any) -> None:
        if field is not None:
            extra.setdefault("errors", {field: [detail]})
        super().__init__(detail, **extra)


class NotPermitted(DomainError):
    """The actor's role or relation to the object forbids this (HTTP 403)."""

    status = 403
    slug = "permission-denied"


class StepsMissing(DomainError):
    """A transition attempted out of order (HTTP 409). ``missing_steps`` names
    what must happen first, in order."""

    status = 409
    slug = "transition-not-allowed"

    def __init__(
        self, detail: str, *, missing_steps: list[str], current_status: str, **extra: Any
    ) -> None:
        super().__init__(
            detail, missing_steps=missing_steps, current_status=current_status, **extra
        )
        self.missing_steps = missing_steps


class PayloadTooLarge(DomainError):
    """Input above a size limit (HTTP 413); ``limit_bytes`` names the limit."""

    status = 413
    slug = "payload-too-large"

    def __init__(self, detail: str, *, limit_bytes: int, **extra: Any) -> None:
        super().__init__(detail, limit_bytes=limit_bytes, **extra)
