"""Proof that a Celery worker is consuming: beat and the web process queue a
tiny task, and the worker records when it ran it.

``/healthz`` reports the last heartbeat so an operator sees a stalled worker,
which a broker ping alone would not reveal.
"""

from datetime import datetime
from typing import TypedDict

from celery import shared_task
from django.core.cache import BaseCache, cache
from django.utils import timezone
from kombu import Producer

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


def request_heartbeat(*, store: BaseCache | None = None, producer: Producer | None = None) -> bool:
    """Queue a heartbeat from the web process, at most once per interval.

    ``/healthz`` passes its own cache and a producer on its own broker
    connection, whose short timeouts keep it within its time budget when
    Redis hangs. Tried once: a heartbeat lost is asked for again after the
    interval.
    """
    if not (store or cache).add(_THROTTLE_KEY, True, timeout=REQUEST_INTERVAL_SECONDS):
        return False
    heartbeat.apply_async(
        kwargs={"source": "web", "queued_at": timezone.now().isoformat()},
        producer=producer,
        retry=False,
    )
    return True


def last_heartbeat(*, store: BaseCache | None = None) -> Heartbeat | None:
    record: Heartbeat | None = (store or cache).get(HEARTBEAT_KEY)
    return record


def heartbeat_age_seconds(record: Heartbeat, *, now: datetime | None = None) -> float:
    now = now or timezone.now()
    return (now - datetime.fromisoformat(record["ran_at"])).total_seconds()
