"""The local default end to end, as ``scripts/run`` starts it: SQLite, a web
server and a real Celery worker on the filesystem broker, in separate
processes. A task queued by the web process must be run by the worker."""

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings

from tests.helpers import free_port

BASE_DIR = Path(settings.BASE_DIR)
VENV_BIN = Path(sys.executable).parent


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback only
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


@pytest.fixture
def local_env(tmp_path: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "EMAIL_URL", "SECRET_KEY"}
    }
    env.update(
        DJANGO_SETTINGS_MODULE="helpdesk.settings.local",
        HELPDESK_VAR_DIR=str(tmp_path / "var"),
        PYTHONUNBUFFERED="1",
    )
    return env


@pytest.fixture
def running_desk(local_env: dict[str, str], tmp_path: Path) -> Iterator[str]:
    def manage(*args: str) -> None:
        subprocess.run(  # noqa: S603
            [sys.executable, "manage.py", *args],
            cwd=BASE_DIR,
            env=local_env,
            check=True,
            capture_output=True,
            timeout=120,
        )

    manage("migrate", "--noinput")
    manage("seed_demo")
    port = free_port()
    logs = (tmp_path / "worker.log").open("w"), (tmp_path / "web.log").open("w")
    processes = [
        subprocess.Popen(  # noqa: S603
            [str(VENV_BIN / "celery"), "-A", "helpdesk", "worker", "--pool", "solo", "-l", "INFO"],
            cwd=BASE_DIR,
            env=local_env,
            stdout=logs[0],
            stderr=subprocess.STDOUT,
        ),
        subprocess.Popen(  # noqa: S603
            [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
            cwd=BASE_DIR,
            env=local_env,
            stdout=logs[1],
            stderr=subprocess.STDOUT,
        ),
    ]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        for log in logs:
            log.close()


def wait_until(check: "object", timeout: float) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            result = check()  # type: ignore[operator]
        except (urllib.error.URLError, ConnectionError):
            result = None
        if result:
            return result
        time.sleep(0.25)
    raise AssertionError(f"not reached within {timeout} s")


@pytest.mark.slow
def test_local_desk_serves_and_its_worker_runs_tasks_from_the_web(
    running_desk: str, tmp_path: Path
) -> None:
    def healthy() -> dict[str, object] | None:
        status, body = get(f"{running_desk}/healthz")
        return json.loads(body) if status == 200 else None

    first = wait_until(healthy, timeout=60)
    assert isinstance(first, dict)
    assert first["checks"] == {"database": "ok", "broker": "ok"}

    status, page = get(f"{running_desk}/api/docs/")
    assert status == 200
    assert b"swagger-ui" in page

    # The first /healthz queued a heartbeat from the web process; the worker
    # picks it up from the filesystem broker and the next probe reports it.
    def worker_seen() -> dict[str, object] | None:
        body = healthy()
        worker = body["worker"] if body else None
        return worker if isinstance(worker, dict) and worker["source"] == "web" else None

    worker = wait_until(worker_seen, timeout=60)
    assert isinstance(worker, dict)
    assert worker["last_seen"] is not None
    assert "helpdesk.heartbeat" in (tmp_path / "worker.log").read_text()

    # seed_demo's recovery steps queued customer emails; the worker wrote them
    # to the file backend for a person to read.
    mail_dir = tmp_path / "var" / "mail"
    wait_until(lambda: mail_dir.is_dir() and any(mail_dir.iterdir()), timeout=60)
    sent = "".join(path.read_text() for path in mail_dir.iterdir())
    assert "Subject: [HD-" in sent
