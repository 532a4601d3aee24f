"""Proof that a Celery worker is consuming: beat and the web process queue a
tiny task, and the worker records when it ran it.

``/healthz`` reports the last heartbeat so an operator sees a stalled worker,
which a broker ping alone would not reveal.
"""

from datetime import datetime
from typing import TypedDict

from celery import shared_task
from django.core.cache import cache
from django.utils import timezone

HEARTBEAT_KEY = "worker-heartbeat"
_THROTTLE_KEY = "worker-heartbeat-requested"
# The web process asks for at most one heartbeat per this many seconds, so a
# busy health probe does not flood the queue.
REQUEST_INTERVAL_SECONDS = 30


class Heartbeat(TypedDict):
    source: str
    queued_at: str | None
    ran_at: str


@shared_task(name="helpdesk.heartbeat", ignore_result=True)
def heartbeat(source: str, queued_at: str | None = None) -> None:
    """Record that a worker ran a task queued by ``source`` (beat or web)."""
    record: Heartbeat = {
        "source": source,
        "queued_at": queued_at,
        "ran_at": timezone.now().isoformat(),
    }
    cache.set(HEARTBEAT_KEY, record, timeout=None)


def request_heartbeat() -> bool:
    """Queue a heartbeat from the web process, at most once per interval."""
    if not cache.add(_THROTTLE_KEY, True, timeout=REQUEST_INTERVAL_SECONDS):
        return False
    heartbeat.delay(source="web", queued_at=timezone.now().isoformat())
    return True


def last_heartbeat() -> Heartbeat | None:
    record: Heartbeat | None = cache.get(HEARTBEAT_KEY)
    return record


def heartbeat_age_seconds(record: Heartbeat, *, now: datetime | None = None) -> float:
    now = now or timezone.now()
    return (now - datetime.fromisoformat(record["ran_at"])).total_seconds()
