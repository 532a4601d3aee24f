"""Idempotent POSTs: the first response to a key is kept and given again to
a retry with the same body; the same key with another body is refused."""

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import IntegrityError

from accounts.models import User
from core import clock
from core.errors import RuleViolation
from core.inserts import inserted
from recovery.models import IdempotencyKey

MAX_KEY_CHARS = 255


@dataclass(frozen=True)
class Outcome:
    status: int
    body: dict[str, Any]
    replayed: bool


def fingerprint(*, method: str, path: str, body: Any) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{method} {path}\n{canonical}".encode()).hexdigest()


Keep = Callable[[int, dict[str, Any]], None]


def run_idempotent(
    *,
    user: User,
    key: str,
    fingerprint: str,
    action: Callable[[Keep], tuple[int, dict[str, Any]]],
) -> Outcome:
    """Run ``action`` once per (user, key). ``action(keep)`` makes its change
    in one transaction and, inside it, calls ``keep(status, body)`` with its
    response: the key is stored with the response in the same transaction,
    by one write (an action rolled back and made again calls it again: a
    grant whose charge is refused, made again as a request). A parallel
    retry runs the action too, waiting on its first lock (a grant's ticket)
    or at its keep on the unique index until the first commits; its keep
    then fails: all of its work is rolled back, and it replays the first
    response (whichever commits first answers both). If the action fails,
    nothing is kept and the key can be used again."""
    key = key.strip()
    if not key or len(key) > MAX_KEY_CHARS:
        raise RuleViolation(
            f"An Idempotency-Key is 1 to {MAX_KEY_CHARS} characters.", field="Idempotency-Key"
        )
    kept: list[bool] = []

    def keep(status: int, body: dict[str, Any]) -> None:
        inserted(
            IdempotencyKey(
                user=user,
                key=key,
                fingerprint=fingerprint,
                response_status=status,
                response_body=body,
            )
        )
        kept.append(True)

    try:
        status, body = action(keep)
    except IntegrityError:
        existing = IdempotencyKey.objects.filter(user=user, key=key).first()
        if existing is None:  # the integrity error was the action's own
            raise
    else:
        if not kept:
            raise RuntimeError("An idempotent action must keep its response in its transaction.")
        return Outcome(status, body, replayed=False)
    if existing.fingerprint != fingerprint:
        raise RuleViolation(
            "This Idempotency-Key was used for a different request; use a new key.",
            field="Idempotency-Key",
        )
    return Outcome(existing.response_status, existing.response_body, replayed=True)


def idempotency_keys_purge(*, now: datetime | None = None) -> int:
    """Forget keys older than the retention period (24 hours by default)."""
    cutoff = (now or clock.now()) - settings.HELPDESK_IDEMPOTENCY_TTL
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()
    return deleted
