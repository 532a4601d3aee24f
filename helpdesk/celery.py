"""The Celery app. Its settings live in Django settings under ``CELERY_``;
the beat schedule is defined here and nowhere else."""

import logging
import os
from pathlib import Path
from typing import Any, NoReturn

from celery import Celery
from celery.beat import PersistentScheduler
from celery.schedules import crontab
from celery.signals import task_postrun, task_prerun
from django.conf import settings
from django.db import close_old_connections

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings.local")
logger = logging.getLogger(__name__)

app = Celery("helpdesk")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Tasks of the project itself (not of an app), such as the worker heartbeat.
app.conf.imports = ("helpdesk.heartbeat",)


@task_prerun.connect
@task_postrun.connect
def close_obsolete_connections(sender: Any = None, **_: Any) -> None:
    """Around each task, the database connections Django would close around
    a request: older than CONN_MAX_AGE, broken, or left in a transaction;
    the rest are kept, and checked before their next use (CONN_HEALTH_CHECKS).
    Celery's own fixup closes every connection around every task whatever
    CONN_MAX_AGE says (CELERY_DB_REUSE_MAX in settings turns that off): a
    new PostgreSQL backend, and its set-up on both sides, for each task
    (docs/performance.md, "Dispatch, connections kept"). Eager tasks run
    inside their caller's transaction and are left alone."""
    if getattr(getattr(sender, "request", None), "is_eager", False):
        return
    close_old_connections()


# Every periodic job of the product, in one place.
app.conf.beat_schedule = {
    "worker-heartbeat": {
        "task": "helpdesk.heartbeat",
        "schedule": crontab(minute="*"),
        "kwargs": {"source": "beat"},
    },
    "tickets-check-timeliness": {
        "task": "tickets.check_timeliness",
        "schedule": crontab(minute="*"),
    },
    "tickets-send-reminders": {
        "task": "tickets.send_reminders",
        "schedule": crontab(minute="*"),
    },
    # Rows of workers that died due again, and workers for whatever is due.
    "outbox-sweep": {
        "task": "outbox.sweep",
        "schedule": settings.HELPDESK_OUTBOX_SWEEP_SECONDS,
    },
    "recovery-sweep-followups": {
        "task": "recovery.sweep_followups",
        "schedule": crontab(minute="*"),
    },
    "recovery-restore-finished-tickets": {
        "task": "recovery.restore_finished_tickets",
        "schedule": crontab(minute=23),
    },
    "recovery-purge-idempotency-keys": {
        "task": "recovery.purge_idempotency_keys",
        "schedule": crontab(minute=41),
    },
    # The dashboard's daily rollups: how far its figures may lag.
    "recovery-refresh-daily-figures": {
        "task": "recovery.refresh_daily_figures",
        "schedule": crontab(minute="*"),
    },
    "tickets-close-quiet": {
        "task": "tickets.close_quiet_tickets",
        "schedule": crontab(minute=17),
    },
    "inbound-poll-imap": {
        "task": "inbound.poll_imap",
        "schedule": crontab(minute="*"),
    },
    "inbound-process-stalled": {
        "task": "inbound.process_stalled",
        "schedule": crontab(minute="*/5"),
    },
}


def ensure_schedule_directory(schedule_file: Path) -> None:
    """Makes sure beat can write its schedule file, creating its folder (one
    level) if need be; otherwise stops beat with one line naming the setting
    and the path. Celery alone reports a missing folder as a corrupted
    schedule, in pages of tracebacks, and exits."""
    folder = schedule_file.parent
    try:
        folder.mkdir(exist_ok=True)
    except OSError as exc:
        _stop_beat(
            f"cannot create HELPDESK_VAR_DIR {folder} for its schedule file "
            f"({exc.strerror}): create it, writable by beat, or set HELPDESK_VAR_DIR."
        )
    if not os.access(folder, os.W_OK | os.X_OK):
        _stop_beat(
            f"HELPDESK_VAR_DIR {folder} is not writable by beat (user id {os.getuid()}), "
            "which keeps its schedule file there."
        )


def _stop_beat(reason: str) -> NoReturn:
    logger.critical("celery beat cannot start: %s", reason)
    raise SystemExit(1)


class BeatScheduler(PersistentScheduler):
    """Celery's file-backed scheduler, which checks its folder first
    (CELERY_BEAT_SCHEDULER in settings)."""

    def setup_schedule(self) -> Any:
        # Set by PersistentScheduler.__init__, unknown to celery-types.
        ensure_schedule_directory(Path(self.schedule_filename))  # type: ignore[attr-defined]
        return super().setup_schedule()
