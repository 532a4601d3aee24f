"""``/healthz``: is this process able to serve? Database and broker must be
reachable (200, else 503); the worker's last heartbeat is reported, not
required, since a web process can serve while workers restart.

It answers within two seconds whatever its dependencies do, since a load
balancer's probe that hangs holds a web thread and then marks every instance
down at once. The checks run side by side in threads of their own, each on
its own connection with short timeouts (``HELPDESK_HEALTH_SOCKET_TIMEOUT``),
and the probe waits for them at most ``HELPDESK_HEALTH_TIMEOUT`` in all: a
check not done by then is reported ``"timeout"``. Its thread is left to end
on its own socket timeout, within about two seconds.
"""

import copy
import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.core.cache import BaseCache, caches
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.utils import load_backend
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from helpdesk.celery import app as celery_app
from helpdesk.heartbeat import heartbeat_age_seconds, last_heartbeat, request_heartbeat

logger = logging.getLogger(__name__)

# The probe's own query; a test swaps it for a slow one.
DATABASE_QUERY = "SELECT 1"
_NO_WORKER: dict[str, Any] = {"last_seen": None, "age_seconds": None, "source": None}


def _probe_database_connection() -> BaseDatabaseWrapper:
    """A connection of the probe's own, never the request's: it is opened and
    closed in the check's thread, with a short connect timeout."""
    settings_dict = copy.deepcopy(connections.settings[DEFAULT_DB_ALIAS])
    if settings_dict["ENGINE"] == "django.db.backends.postgresql":
        # libpq treats anything under 2 s as 2 s; the overall deadline covers it.
        options = settings_dict.setdefault("OPTIONS", {})
        options["connect_timeout"] = settings.HELPDESK_HEALTH_SOCKET_TIMEOUT
    backend = load_backend(settings_dict["ENGINE"])
    wrapper: BaseDatabaseWrapper = backend.DatabaseWrapper(settings_dict, DEFAULT_DB_ALIAS)
    return wrapper


# A backlog is counted up to this many rows: the probe stays cheap whatever its size.
BACKLOG_COUNT_LIMIT = 10_000
_OUTBOX_QUERIES = (
    # Rows due and not yet taken by a worker, counted on the outbox's
    # partial index of pending rows (outbox/models.py).
    "SELECT count(*) FROM (SELECT 1 FROM outbox_outboxitem"
    " WHERE status = 'pending' AND due_at <= %s LIMIT %s) AS due",
    "SELECT min(due_at) FROM outbox_outboxitem WHERE status = 'pending' AND due_at <= %s",
    "SELECT count(*) FROM outbox_outboxitem WHERE status = 'sending'",
)


def check_database() -> tuple[str, dict[str, Any] | None]:
    """Whether the database answers, and the outbox's backlog read over the
    same connection: how many rows are due and not taken, the oldest of
    them, and how many workers hold right now."""
    probe = None
    outbox = None
    try:
        probe = _probe_database_connection()
        if probe.vendor == "postgresql":
            # A statement timeout local to a transaction (set_config(..., true)
            # is SET LOCAL), so it ends with it even behind a pooler that
            # hands the server connection on.
            probe.set_autocommit(False)
        with probe.cursor() as cursor:
            if probe.vendor == "postgresql":
                timeout = f"{int(settings.HELPDESK_HEALTH_SOCKET_TIMEOUT * 1000)}ms"
                cursor.execute("SELECT set_config('statement_timeout', %s, true)", [timeout])
            cursor.execute(DATABASE_QUERY)
            cursor.fetchone()
            try:
                outbox = _outbox_backlog(probe, cursor)
            except Exception as exc:  # noqa: BLE001 - reported, never required
                logger.warning("healthz: could not read the outbox's backlog: %s", exc)
    except Exception as exc:  # noqa: BLE001 - any failure means "unreachable"
        logger.warning("healthz: database unreachable: %s", exc)
        return "unreachable", outbox
    finally:
        if probe is not None:
            probe.close()
    return "ok", outbox


def _outbox_backlog(probe: BaseDatabaseWrapper, cursor: Any) -> dict[str, Any]:
    now = timezone.now()
    at = probe.ops.adapt_datetimefield_value(now)
    due_sql, oldest_sql, sending_sql = _OUTBOX_QUERIES
    cursor.execute(due_sql, [at, BACKLOG_COUNT_LIMIT])
    due = cursor.fetchone()[0]
    cursor.execute(oldest_sql, [at])
    oldest = cursor.fetchone()[0]
    cursor.execute(sending_sql)
    sending = cursor.fetchone()[0]
    if isinstance(oldest, str):  # SQLite hands back text
        oldest = datetime.fromisoformat(oldest)
    if oldest is not None and timezone.is_naive(oldest):
        oldest = timezone.make_aware(oldest, UTC)
    return {
        "due": due,
        "due_counted_up_to": BACKLOG_COUNT_LIMIT,
        "sending": sending,
        "oldest_due_at": oldest.isoformat() if oldest else None,
        "oldest_due_age_seconds": round((now - oldest).total_seconds(), 1) if oldest else None,
    }


def check_broker(store: BaseCache) -> str:
    """Connects to the broker with the probe's short timeouts and, over the
    same connection, queues a heartbeat for a worker to run (at most one per
    interval across all probes)."""
    timeout = settings.HELPDESK_HEALTH_SOCKET_TIMEOUT
    try:
        with celery_app.connection_for_write(
            connect_timeout=timeout,
            # Ignored by the filesystem transport of the local mode.
            transport_options={"socket_connect_timeout": timeout, "socket_timeout": timeout},
        ) as conn:
            conn.ensure_connection(max_retries=0)
            try:
                request_heartbeat(store=store, producer=conn.Producer())
            except Exception:  # a cache hiccup must not fail the probe
                logger.exception("healthz: could not queue a heartbeat")
    except Exception as exc:  # noqa: BLE001 - any failure means "unreachable"
        logger.warning("healthz: broker unreachable: %s", exc)
        return "unreachable"
    return "ok"


def worker_status(store: BaseCache) -> dict[str, Any]:
    try:
        record = last_heartbeat(store=store)
    except Exception:
        logger.exception("healthz: could not read the heartbeat")
        return dict(_NO_WORKER)
    if record is None:
        return dict(_NO_WORKER)
    return {
        "last_seen": record["ran_at"],
        "age_seconds": round(heartbeat_age_seconds(record), 1),
        "source": record["source"],
    }


def _run_within(budget: float, checks: dict[str, Callable[[], Any]]) -> dict[str, Future[Any]]:
    """Starts every check at once and returns when all are done or the budget
    is spent, whichever comes first; the threads of unfinished checks are not
    waited for."""
    pool = ThreadPoolExecutor(max_workers=len(checks), thread_name_prefix="healthz")
    try:
        futures = {name: pool.submit(check) for name, check in checks.items()}
        wait(futures.values(), timeout=budget)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    return futures


def _outcome(future: Future[Any], *, late: Any, failed: Any) -> Any:
    if not future.done():
        return late
    try:
        return future.result()
    except Exception:  # the checks catch their own errors; this is a backstop
        logger.exception("healthz: check failed")
        return failed


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    # One cache object for both threads (it is thread-safe), so its Redis
    # connections are kept from one probe to the next.
    store = caches["health"]
    futures = _run_within(
        settings.HELPDESK_HEALTH_TIMEOUT,
        {
            "database": check_database,
            "broker": lambda: check_broker(store),
            "worker": lambda: worker_status(store),
        },
    )
    database, outbox = _outcome(
        futures["database"], late=("timeout", None), failed=("unreachable", None)
    )
    checks = {
        "database": database,
        "broker": _outcome(futures["broker"], late="timeout", failed="unreachable"),
    }
    healthy = all(result == "ok" for result in checks.values())
    body = {
        "status": "ok" if healthy else "unavailable",
        "time": timezone.now().isoformat(),
        "checks": checks,
        "worker": _outcome(futures["worker"], late=dict(_NO_WORKER), failed=dict(_NO_WORKER)),
        # Reported, not required: a backlog is for the operator to read.
        "outbox": outbox,
    }
    return JsonResponse(body, status=200 if healthy else 503)
