"""The benchmark's subprocesses: started in a process group of their own with
the benchmark's settings and database (``DATABASE_URL`` rebuilt from the
live connection), waited for until they answer, and always stopped, their
children with them."""

import os
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from typing import IO, Any
from urllib.parse import quote

from django.conf import settings
from django.db import connection

START_TIMEOUT = 60.0  # seconds for a server to come up
STOP_TIMEOUT = 15.0  # seconds for a graceful stop before SIGKILL


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (at the time of asking)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def database_url(*, via_port: int | None = None) -> str:
    """The URL of the database this process is connected to right now (or,
    with ``via_port``, of the same database through 127.0.0.1:via_port)."""
    db = connection.settings_dict
    user = quote(db["USER"] or "", safe="")
    password = quote(db["PASSWORD"] or "", safe="")
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = db["HOST"] or "127.0.0.1"
    port = f":{db['PORT']}" if db["PORT"] else ""
    if via_port is not None:
        host, port = "127.0.0.1", f":{via_port}"
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


def start(name: str, args: list[str], env: dict[str, str], **streams: Any) -> Process:
    log = None
    if not streams:
        log = tempfile.TemporaryFile()  # noqa: SIM115 (closed by Process.stop)
        streams = {"stdout": log, "stderr": subprocess.STDOUT, "stdin": subprocess.DEVNULL}
    popen = subprocess.Popen(  # noqa: S603 (our own interpreter and arguments)
        args, cwd=settings.BASE_DIR, env=env, start_new_session=True, **streams
    )
    return Process(name, popen, log)


def wait_until(ready: Callable[[], bool], process: Process) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        process.check_alive()
        if ready():
            return
        time.sleep(0.1)
    raise RuntimeError(
        f"{process.name} did not start within {START_TIMEOUT:.0f} s: {process.output()}"
    )
