"""The real servers the write benchmarks run against, each a subprocess on
127.0.0.1 that is always stopped, even when the benchmark fails: gunicorn
(the production server) for the API, a Celery worker on Redis for
follow-ups, and a counting SMTP sink.

Every subprocess gets the benchmark's own settings module and database
(``DATABASE_URL`` rebuilt from the live connection, so under pytest it is
the test database) and sees only committed rows, as in production.
"""

import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import IO, Any
from urllib.parse import quote

from django.conf import settings
from django.db import connection

START_TIMEOUT = 60.0  # seconds for a server to come up
STOP_TIMEOUT = 15.0  # seconds for a graceful stop before SIGKILL


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def database_url() -> str:
    """The URL of the database this process is connected to right now."""
    db = connection.settings_dict
    user = quote(db["USER"] or "", safe="")
    password = quote(db["PASSWORD"] or "", safe="")
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = db["HOST"] or "127.0.0.1"
    port = f":{db['PORT']}" if db["PORT"] else ""
    return f"postgres://{auth}{host}{port}/{quote(db['NAME'], safe='')}"


def conninfo() -> str:
    """The same database, for raw psycopg."""
    return database_url().replace("postgres://", "postgresql://", 1)


def child_env(**extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": settings.SETTINGS_MODULE,
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "DEBUG": "false",
        "PYTHONUNBUFFERED": "1",
        **extra,
    }


@dataclass
class Process:
    """A subprocess in its own process group, so stopping it stops its
    children too (gunicorn's workers, Celery's prefork pool)."""

    name: str
    popen: subprocess.Popen[bytes]
    log: IO[bytes] | None = None

    def check_alive(self) -> None:
        if self.popen.poll() is not None:
            raise RuntimeError(f"{self.name} exited with {self.popen.returncode}: {self.output()}")

    def output(self) -> str:
        if self.log is None:
            return ""
        self.log.seek(0)
        return self.log.read().decode(errors="replace")[-3000:]

    def stop(self) -> None:
        self._signal(signal.SIGTERM)  # a graceful stop: gunicorn and Celery finish what they do
        try:
            self.popen.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self._signal(signal.SIGKILL)
            self.popen.wait(STOP_TIMEOUT)
        # Any child left in the group (a pool process whose master is gone) goes too.
        self._signal(signal.SIGKILL)
        if self.log is not None:
            self.log.close()

    def _signal(self, sig: int) -> None:
        with suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, sig)


def _start(name: str, args: list[str], env: dict[str, str], **streams: Any) -> Process:
    log = None
    if not streams:
        log = tempfile.TemporaryFile()  # noqa: SIM115 (closed by Process.stop)
        streams = {"stdout": log, "stderr": subprocess.STDOUT, "stdin": subprocess.DEVNULL}
    popen = subprocess.Popen(  # noqa: S603 (our own interpreter and arguments)
        args, cwd=settings.BASE_DIR, env=env, start_new_session=True, **streams
    )
    return Process(name, popen, log)


def _wait_until(ready: Callable[[], bool], process: Process) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        process.check_alive()
        if ready():
            return
        time.sleep(0.1)
    raise RuntimeError(
        f"{process.name} did not start within {START_TIMEOUT:.0f} s: {process.output()}"
    )


# --- gunicorn ---------------------------------------------------------------------


@contextmanager
def gunicorn(*, workers: int, threads: int, probe: Callable[[str], bool]) -> Iterator[str]:
    """The production server (gthread workers) serving this database; yields
    its base URL once ``probe(base_url)`` succeeds. Persistent database
    connections (``CONN_MAX_AGE``) as in production settings."""
    port = free_port()
    process = _start(
        "gunicorn",
        [
            sys.executable,
            "-m",
            "gunicorn",
            "helpdesk.wsgi:application",
            f"--bind=127.0.0.1:{port}",
            f"--workers={workers}",
            f"--threads={threads}",
            "--worker-class=gthread",
            "--timeout=60",
            "--graceful-timeout=5",
            "--keep-alive=30",
            "--log-level=warning",
        ],
        child_env(CONN_MAX_AGE="60"),
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until(lambda: _answers(port) and probe(base), process)
        yield base
    finally:
        process.stop()


def _answers(port: int) -> bool:
    """Listening yet? (Not /healthz: it queues a heartbeat task on the broker.)"""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


# --- SMTP sink ----------------------------------------------------------------------


@dataclass
class Sink:
    port: int
    received: int | None = None  # known once the sink has stopped


@contextmanager
def smtp_sink() -> Iterator[Sink]:
    """The counting sink of ``bench.smtp_sink`` in its own process. After the
    block, ``received`` holds how many messages it accepted in all."""
    port = free_port()
    process = _start(
        "SMTP sink",
        [sys.executable, "-m", "bench.smtp_sink", str(port)],
        dict(os.environ),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    sink = Sink(port)
    stdin, stdout = process.popen.stdin, process.popen.stdout
    if stdin is None or stdout is None:  # piped above
        raise RuntimeError("The SMTP sink has no pipes.")
    try:
        ready, _, _ = select.select([stdout], [], [], START_TIMEOUT)
        if not ready or stdout.readline().strip() != b"ready":
            raise RuntimeError("The SMTP sink did not start.")
        yield sink
    finally:
        stdin.close()  # the sink's signal to stop and report
        ready, _, _ = select.select([stdout], [], [], STOP_TIMEOUT)
        line = stdout.readline().decode() if ready else ""
        if line.startswith("received "):
            sink.received = int(line.split()[1])
        stdout.close()
        process.stop()


# --- Celery worker ------------------------------------------------------------------


@contextmanager
def celery_worker(*, smtp_port: int, pool: str, concurrency: int) -> Iterator[str]:
    """One Celery worker on the benchmark's broker, sending mail to the sink
    (see ``bench.worker_settings``); yields its node name once it answers a ping."""
    from helpdesk.celery import app

    if not settings.CELERY_BROKER_URL.startswith("redis"):
        raise RuntimeError("The dispatch benchmark needs Redis: set REDIS_URL.")
    node = f"bench-{os.getpid()}-{free_port()}@{socket.gethostname()}"
    process = _start(
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
        ),
    )
    try:
        _wait_until(lambda: bool(app.control.ping(destination=[node], timeout=0.5)), process)
        yield node
    finally:
        process.stop()
