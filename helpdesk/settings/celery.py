"""Celery: the broker (Redis, or kombu's filesystem transport locally) and
how tasks run."""

from typing import Any

from django.core.exceptions import ImproperlyConfigured

from helpdesk.settings.cache import REDIS_CONNECT_TIMEOUT, REDIS_URL
from helpdesk.settings.environment import VAR_DIR, env
from helpdesk.settings.project import TIME_ZONE

CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL or "filesystem://")

if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = VAR_DIR / "broker"
    for _folder in ("queue", "processed", "control"):
        try:
            (_broker_dir / _folder).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            # Said in one line, as beat says it of its schedule's folder.
            raise ImproperlyConfigured(
                f"Cannot create the local broker's folder {_broker_dir / _folder} in "
                f"HELPDESK_VAR_DIR ({exc.strerror}): create it, writable by the desk, "
                "or set HELPDESK_VAR_DIR."
            ) from None
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, Any] = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "store_processed": False,
        # Broadcast (remote control) state; kombu puts it in ./control otherwise.
        "control_folder": str(_broker_dir / "control"),
    }
else:
    # Longer than any task's hard time limit, so a running task is never
    # redelivered to a second worker while the first still holds it.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": 3600,
        # Bounds the synchronous commands (a publish, the connection's PING),
        # which otherwise wait forever on a hung broker and hold the web
        # request that queued a task: with CELERY_TASK_PUBLISH_RETRY_POLICY
        # below, at most three tries. Longer than the cache's because a
        # worker under load publishes in bursts. The worker's BRPOP is not
        # affected: the broker answers it within a second by itself, and
        # kombu drops a connection whose answer is overdue
        # (health_check_interval).
        "socket_connect_timeout": REDIS_CONNECT_TIMEOUT,
        "socket_timeout": env.float("CELERY_BROKER_SOCKET_TIMEOUT", default=5),
    }
# No result backend (CELERY_TASK_IGNORE_RESULT): nothing else talks to Redis.

# What SPEC decides: a task is acknowledged only when it finished, returns to
# the queue if its worker dies, and a worker holds one task at a time.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=300)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=240)
CELERY_BROKER_CONNECTION_TIMEOUT = 3
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A publish must not hang a web request when the broker is gone.
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
}
CELERY_TIMEZONE = TIME_ZONE
# Celery's Django fixup closes the database connections around every task,
# ignoring CONN_MAX_AGE, unless this is set; it then closes them only every
# this many tasks, and helpdesk.celery closes them around each task as
# Django does around a request (CONN_MAX_AGE, broken, left in a transaction).
CELERY_DB_REUSE_MAX = 1000
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# Celery's own scheduler, which first makes sure the schedule's folder exists
# (creating it if it can) and otherwise stops beat with one line naming it.
CELERY_BEAT_SCHEDULER = "helpdesk.celery:BeatScheduler"

if CELERY_TASK_SOFT_TIME_LIMIT >= CELERY_TASK_TIME_LIMIT:
    raise ImproperlyConfigured(
        "CELERY_TASK_SOFT_TIME_LIMIT must be lower than CELERY_TASK_TIME_LIMIT."
    )
