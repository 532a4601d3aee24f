"""The Celery app. Its settings live in Django settings under ``CELERY_``;
the beat schedule is defined here and nowhere else."""

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings.local")

app = Celery("helpdesk")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Tasks of the project itself (not of an app), such as the worker heartbeat.
app.conf.imports = ("helpdesk.heartbeat",)

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
    "tickets-requeue-stalled-messages": {
        "task": "tickets.requeue_stalled_messages",
        "schedule": crontab(minute="*/5"),
    },
    "recovery-sweep-followups": {
        "task": "recovery.sweep_followups",
        "schedule": crontab(minute="*"),
    },
    "recovery-restore-finished-tickets": {
        "task": "recovery.restore_finished_tickets",
        "schedule": crontab(minute=23),
    },
    "recovery-requeue-stalled-webhooks": {
        "task": "recovery.requeue_stalled_webhooks",
        "schedule": crontab(minute="*/5"),
    },
    "recovery-purge-idempotency-keys": {
        "task": "recovery.purge_idempotency_keys",
        "schedule": crontab(minute=41),
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
