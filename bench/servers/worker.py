"""One Celery worker on the benchmark's broker, sending its mail to the
sink (``bench.worker_settings``)."""

import os
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings

from bench.servers.processes import child_env, free_port, start, wait_until


@contextmanager
def celery_worker(*, smtp_port: int, pool: str, concurrency: int) -> Iterator[str]:
    """One Celery worker on the benchmark's broker, sending mail to the sink
    (see ``bench.worker_settings``); yields its node name once it answers a ping."""
    from helpdesk.celery import app

    if not settings.CELERY_BROKER_URL.startswith("redis"):
        raise RuntimeError("The dispatch benchmark needs Redis: set REDIS_URL.")
    node = f"bench-{os.getpid()}-{free_port()}@{socket.gethostname()}"
    process = start(
        "Celery worker",
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "helpdesk",
            "worker",
            f"--pool={pool}",
            f"--concurrency={concurrency}",
            f"--hostname={node}",
            "--loglevel=WARNING",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        child_env(
            DJANGO_SETTINGS_MODULE="bench.worker_settings",
            BENCH_BASE_SETTINGS=settings.SETTINGS_MODULE,
            BENCH_SMTP_PORT=str(smtp_port),
            # Its database connections kept between tasks, as production's
            # settings keep them (helpdesk.celery, close_obsolete_connections).
            CONN_MAX_AGE="60",
        ),
    )
    try:
        wait_until(lambda: bool(app.control.ping(destination=[node], timeout=0.5)), process)
        yield node
    finally:
        process.stop()
