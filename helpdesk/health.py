"""``/healthz``: is this process able to serve? Database and broker must be
reachable (200, else 503); the worker's last heartbeat is reported, not
required, since a web process can serve while workers restart."""

import logging
from typing import Any

from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from helpdesk.celery import app as celery_app
from helpdesk.heartbeat import heartbeat_age_seconds, last_heartbeat, request_heartbeat

logger = logging.getLogger(__name__)

BROKER_TIMEOUT_SECONDS = 2


def check_database() -> tuple[bool, str]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as exc:
        logger.warning("healthz: database unreachable: %s", exc)
        return False, "unreachable"
    return True, "ok"


def check_broker() -> tuple[bool, str]:
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, timeout=BROKER_TIMEOUT_SECONDS)
    except Exception as exc:  # noqa: BLE001 - any failure means "unreachable"
        logger.warning("healthz: broker unreachable: %s", exc)
        return False, "unreachable"
    return True, "ok"


def worker_status() -> dict[str, Any]:
    record = last_heartbeat()
    if record is None:
        return {"last_seen": None, "age_seconds": None, "source": None}
    return {
        "last_seen": record["ran_at"],
        "age_seconds": round(heartbeat_age_seconds(record), 1),
        "source": record["source"],
    }


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    database_ok, database = check_database()
    broker_ok, broker = check_broker()
    healthy = database_ok and broker_ok
    if broker_ok:
        try:
            request_heartbeat()
        except Exception:  # a cache hiccup must not fail the probe
            logger.exception("healthz: could not queue a heartbeat")
    try:
        worker = worker_status()
    except Exception:
        logger.exception("healthz: could not read the heartbeat")
        worker = {"last_seen": None, "age_seconds": None, "source": None}
    body = {
        "status": "ok" if healthy else "unavailable",
        "time": timezone.now().isoformat(),
        "checks": {"database": database, "broker": broker},
        "worker": worker,
    }
    return JsonResponse(body, status=200 if healthy else 503)
