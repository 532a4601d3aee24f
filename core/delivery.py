"""The pieces every at-least-once sender shares (customer emails, staff
alerts, webhooks, follow-ups): a claim taken with a conditional UPDATE that
expires when its worker dies, the sweep's test for a lost task, and the
retry backoff."""

from datetime import datetime, timedelta

from django.db.models import Q


def claimable(now: datetime, timeout: timedelta) -> Q:
    """Rows nobody holds, or whose holder has been silent past ``timeout``."""
    return Q(claimed_at=None) | Q(claimed_at__lt=now - timeout)


def waiting_since(cutoff: datetime) -> Q:
    """Unclaimed rows whose last attempt (or creation) is older than ``cutoff``."""
    return Q(claimed_at=None) & (
        Q(last_attempt_at__lt=cutoff) | Q(last_attempt_at=None, created_at__lt=cutoff)
    )


def backoff_seconds(retries: int, *, base: int, cap: int) -> int:
    """``base`` seconds, doubled each retry, at most ``cap``: kept below the
    broker's visibility timeout so no retry is delivered twice."""
    return int(min(base * 2**retries, cap))
