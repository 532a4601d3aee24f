"""The harness of the outbox's fault tests (``test_faults.py``): an SMTP
server that can refuse, greylist and hold a mail at a chosen point; a Redis
of the test's own, which it can kill and start again; Celery workers as
separate processes, which it can kill; a thread acting as beat; and the
database connections of the workers, which it can cut.

Everything listens on 127.0.0.1. Every process started here dies with
pytest (PR_SET_PDEATHSIG), even if pytest itself is killed.
"""

import asyncio
import contextlib
import ctypes
import email
import email.policy
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

import redis
from aiosmtpd.controller import Controller
from django.conf import settings
from django.db import connection
from django.utils import timezone

from helpdesk.celery import app as celery_app
from outbox.failures import describe
from outbox.models import OutboxItem
from outbox.services import Sweep, outbox_sweep
from recovery.models import FollowUp
from recovery.services.followups import followups_claim_due
from tests.factories import StaffFactory, TicketFactory, advance
from tests.helpers import free_port, wait_for
from tickets.models import Kind

BASE_DIR = Path(settings.BASE_DIR)
CELERY = Path(sys.executable).parent / "celery"
WORKER_READY_TIMEOUT = 60
HOLD_LIMIT = 60  # an SMTP transaction is never held longer, whatever the test does
PR_SET_PDEATHSIG = 1  # linux/prctl.h
# The workers' database sessions say who they are, so the test can cut
# theirs and only theirs (pg_stat_activity.application_name).
WORKER_DB_APPLICATION = "outbox-fault-worker"
DISPATCH_TASK = r"Task outbox\.dispatch\["
T = TypeVar("T")

_prctl = ctypes.CDLL(None, use_errno=True).prctl


def _says_ready(log: Path) -> bool:
    return b" ready." in log.read_bytes()


def _running(process: "subprocess.Popen[bytes]") -> bool:
    return process.poll() is None


def die_with_pytest() -> None:
    """In a child, before exec: the kernel kills it if pytest itself dies
    without running the fixtures' cleanup (killed by a timeout, say)."""
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


# --- The SMTP server --------------------------------------------------------------------


@dataclass
class Hold:
    """One SMTP transaction held, so that the test can act (kill the worker
    on the other end, cut its database connection) at a known point: at
    ``data`` the server holds the mail before taking it; at ``reply`` it has
    taken it (the 250 is its promise to deliver) and holds the 250."""

    stage: str
    held: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    peer_port: int = 0
    message_id: str = ""


class FaultySmtp:
    """An aiosmtpd handler that takes ``delay`` seconds over each mail and
    records its Message-ID when it answers 250, the moment a real server
    takes responsibility for it. While ``greylisting`` it answers every
    recipient 451, as a greylisting server does; ``hold_next`` holds the next
    mail to arrive."""

    def __init__(self) -> None:
        self.delay = 0.0
        self.greylisting = False
        self._lock = threading.Lock()
        self._accepted: list[str] = []
        self._dropped: list[str] = []
        self._greylisted = 0
        self._holds: list[Hold] = []
        # When each connection's mails were taken, by the client's port.
        self._taken_at: dict[int, list[float]] = {}

    @property
    def accepted(self) -> list[str]:
        with self._lock:
            return list(self._accepted)

    @property
    def dropped(self) -> list[str]:
        """Mails whose connection was lost before the server's 250."""
        with self._lock:
            return list(self._dropped)

    @property
    def greylisted(self) -> int:
        with self._lock:
            return self._greylisted

    def longest_session(self) -> float:
        """The longest time between the first and the last mail taken over
        one connection (one batch), in seconds."""
        with self._lock:
            return max((times[-1] - times[0] for times in self._taken_at.values()), default=0.0)

    def hold_next(self, stage: str) -> Hold:
        assert stage in ("data", "reply")
        hold = Hold(stage)
        with self._lock:
            self._holds.append(hold)
        return hold

    def release_all(self) -> None:
        with self._lock:
            holds, self._holds = self._holds, []
        for hold in holds:
            hold.release.set()

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if self.greylisting:
            with self._lock:
                self._greylisted += 1
            return "451 4.7.1 Try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        message_id = str(message["Message-ID"]).strip()
        with self._lock:
            hold = self._holds.pop(0) if self._holds else None
        try:
            if self.delay:
                await asyncio.sleep(self.delay)
            if hold and hold.stage == "data":
                await self._hold(hold, session, message_id)
        except asyncio.CancelledError:
            # aiosmtpd cancels the handler when the client's connection drops.
            with self._lock:
                self._dropped.append(message_id)
            raise
        with self._lock:
            self._accepted.append(message_id)
            self._taken_at.setdefault(session.peer[1], []).append(time.monotonic())
        if hold and hold.stage == "reply":
            # Taken: a drop of the connection now does not undo that.
            with contextlib.suppress(asyncio.CancelledError):
                await self._hold(hold, session, message_id)
        return "250 Message accepted for delivery"

    async def _hold(self, hold: Hold, session: Any, message_id: str) -> None:
        hold.peer_port = session.peer[1]
        hold.message_id = message_id
        hold.held.set()
        deadline = time.monotonic() + HOLD_LIMIT
        while not hold.release.is_set() and time.monotonic() < deadline:
            await asyncio.sleep(0.01)


class SmtpServer:
    """The server on a fixed port, which can go away (connections refused)
    and come back."""

    def __init__(self, handler: FaultySmtp) -> None:
        self.handler = handler
        self.port = free_port()
        self._controller: Controller | None = None

    def start(self) -> None:
        self._controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self.handler.release_all()
            self._controller.stop()
            self._controller = None


# --- Redis ------------------------------------------------------------------------------


class PrivateRedis:
    """A redis-server of the test's own on a free loopback port, with no
    persistence: killed and started again, it comes back empty, as a broker
    without persistence does after a crash. The shared Redis is never
    touched."""

    def __init__(self, directory: Path) -> None:
        binary = shutil.which("redis-server")
        assert binary, "redis-server is not installed"
        self.binary = binary
        self.directory = directory
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1"]
        command += ["--save", "", "--appendonly", "no"]
        self.process = subprocess.Popen(  # noqa: S603 - the installed redis-server, no shell
            command,
            cwd=self.directory,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=die_with_pytest,
        )
        client = redis.Redis(port=self.port, socket_timeout=1, socket_connect_timeout=1)
        try:
            wait_for(self._pings(client), timeout=10, what="redis-server up", interval=0.05)
        finally:
            client.close()

    @staticmethod
    def _pings(client: redis.Redis) -> Callable[[], bool]:
        def ping() -> bool:
            try:
                return bool(client.ping())
            except redis.ConnectionError:
                return False

        return ping

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None

    def restart(self) -> None:
        self.kill()
        self.start()

    def queued(self) -> int:
        client = redis.Redis.from_url(self.url, socket_timeout=1)
        try:
            return int(client.llen("celery"))
        finally:
            client.close()


@contextlib.contextmanager
def tasks_published_to(url: str) -> Iterator[None]:
    """The tasks this process queues (the services' on commit, the sweep's)
    go to the broker at ``url``, where the workers listen, until the end.
    Celery keeps its connection and producer pools for the broker it first
    used; they are put aside and restored afterwards."""
    # Celery's private pools, which its type stubs do not describe.
    app: Any = celery_app
    saved = (app.conf.broker_url, app._pool, app.amqp._producer_pool)
    app.conf.broker_url = url
    app._pool = None
    app.amqp._producer_pool = None
    try:
        yield
    finally:
        with contextlib.suppress(Exception):
            app.pool.force_close_all()
        app.conf.broker_url, app._pool, app.amqp._producer_pool = saved


# --- Beat -------------------------------------------------------------------------------


class Beat:
    """A thread calling the outbox's sweep every ``interval`` seconds, as
    beat would have a worker do. A sweep that fails (the broker is down) is
    recorded and the next one runs on time, as beat's next tick would."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.sweeps: list[Sweep] = []
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="beat")

    def __enter__(self) -> "Beat":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
        assert not self._thread.is_alive(), "the sweep did not stop"

    @property
    def reclaimed(self) -> int:
        return sum(sweep.reclaimed for sweep in self.sweeps)

    def _run(self) -> None:
        try:
            while not self._stop.wait(self.interval):
                try:
                    self.sweeps.append(outbox_sweep())
                except Exception as exc:  # noqa: BLE001 - beat goes on; the test reads them
                    self.errors.append(describe(exc))
                    connection.close()
        finally:
            connection.close()


# --- Worker processes ---------------------------------------------------------------------


def database_url() -> str:
    """The database pytest-django created, as a URL for another process,
    whose sessions are named WORKER_DB_APPLICATION."""
    db = settings.DATABASES["default"]
    assert db["ENGINE"] == "django.db.backends.postgresql"
    auth = quote(db["USER"]) + (f":{quote(db['PASSWORD'])}" if db["PASSWORD"] else "")
    return (
        f"postgres://{auth}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"
        f"?application_name={WORKER_DB_APPLICATION}"
    )


def worker_env(*, broker_url: str, smtp_port: int, **overrides: str) -> dict[str, str]:
    """The environment of the worker processes: the test database, the
    test's own broker, real SMTP to the sink, connections kept between
    tasks as in production (so a terminated one is met by a later task),
    and the outbox's waits shortened so that faults play out in seconds (a
    lease of 10 s, retries after 1 s doubling up to 5 s; retries go on for
    the default 48 hours)."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "EMAIL_URL"}
        and not key.startswith("HELPDESK_OUTBOX_")
    }
    env.update(
        DJANGO_SETTINGS_MODULE="tests.outbox.faults_settings",
        PYTHONPATH=str(BASE_DIR),
        PYTHONUNBUFFERED="1",
        DATABASE_URL=database_url(),
        REDIS_URL=broker_url,
        CELERY_BROKER_URL=broker_url,
        EMAIL_URL=f"smtp://127.0.0.1:{smtp_port}",
        EMAIL_TIMEOUT="30",  # longer than any hold, so a held mail does not time out
        CONN_MAX_AGE="60",
        LOG_LEVEL="INFO",
        HELPDESK_OUTBOX_LEASE_SECONDS="10",
        HELPDESK_OUTBOX_RETRY_BASE_SECONDS="1",
        HELPDESK_OUTBOX_RETRY_CAP_SECONDS="5",
    )
    env.update(overrides)
    return env


class Workers:
    """Celery workers as separate processes, each in its own process group."""

    def __init__(self, env: dict[str, str], log_dir: Path) -> None:
        self.env = env
        self.log_dir = log_dir
        self.processes: list[subprocess.Popen[bytes]] = []
        self.logs: dict[int, Path] = {}

    def start(self, *pools: str) -> list[subprocess.Popen[bytes]]:
        """One worker per pool named (``solo``, or ``prefork`` with one
        child), started together; returns once each is consuming."""
        started = []
        for pool in pools or ("solo",):
            number = len(self.processes) + 1
            log = self.log_dir / f"worker{number}.log"
            command = [str(CELERY), "-A", "helpdesk", "worker", "--pool", pool]
            command += ["--concurrency", "1", "-l", "INFO", "-n", f"faults{number}@127.0.0.1"]
            command += ["--without-gossip", "--without-mingle", "--without-heartbeat"]
            with log.open("wb") as out:
                process = subprocess.Popen(  # noqa: S603 - our own venv's celery, no shell
                    command,
                    cwd=BASE_DIR,
                    env=self.env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                    preexec_fn=die_with_pytest,
                )
            self.processes.append(process)
            self.logs[process.pid] = log
            started.append(process)
        for process in started:
            wait_for(
                partial(_says_ready, self.logs[process.pid]),
                timeout=WORKER_READY_TIMEOUT,
                what=f"worker {process.pid} ready",
                details=self.tails,
                alive=partial(_running, process),
            )
        return started

    def kill(self, process: subprocess.Popen[bytes]) -> None:
        """SIGKILL, as the OOM killer or a lost host would: no clean-up runs."""
        signal_group(process, signal.SIGKILL)
        process.wait(timeout=10)

    def owner_of(self, local_port: int, remote_port: int) -> subprocess.Popen[bytes]:
        """The live worker whose TCP socket goes from ``local_port`` to ``remote_port``."""
        inode = socket_inode(local_port, remote_port)
        for process in self.processes:
            if process.poll() is not None:
                continue
            for fd in Path(f"/proc/{process.pid}/fd").iterdir():
                try:
                    if os.readlink(fd) == f"socket:[{inode}]":
                        return process
                except OSError:
                    continue
        raise AssertionError(f"no worker holds the connection from port {local_port}")

    def freeze(self, process: subprocess.Popen[bytes]) -> None:
        """SIGSTOP, as a paused container or a frozen VM: it resumes later
        where it was, unaware of the time that passed."""
        signal_group(process, signal.SIGSTOP)

    def thaw(self, process: subprocess.Popen[bytes]) -> None:
        signal_group(process, signal.SIGCONT)

    def log_text(self, process: subprocess.Popen[bytes] | None = None) -> str:
        paths = [self.logs[process.pid]] if process else list(self.logs.values())
        return "\n".join(path.read_text(errors="replace") for path in paths)

    def ran_tasks(self, process: subprocess.Popen[bytes]) -> int:
        """Dispatch tasks the worker ran to the end."""
        return len(re.findall(DISPATCH_TASK + r"[^]]+\] succeeded", self.log_text(process)))

    def ended_tasks(self, process: subprocess.Popen[bytes]) -> int:
        """Dispatch tasks the worker ran to the end or that raised."""
        pattern = DISPATCH_TASK + r"[^]]+\] (?:succeeded|raised)"
        return len(re.findall(pattern, self.log_text(process)))

    def tails(self) -> str:
        return "\n".join(
            f"--- worker {pid} ---\n"
            + "\n".join(path.read_text(errors="replace").splitlines()[-30:])
            for pid, path in self.logs.items()
        )

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                self.thaw(process)
                signal_group(process, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                signal_group(process, signal.SIGKILL)
                process.wait(timeout=10)
            # A prefork child outlives a parent killed with SIGKILL.
            signal_group(process, signal.SIGKILL)


def signal_group(process: subprocess.Popen[bytes], signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signum)


def socket_inode(local_port: int, remote_port: int) -> str:
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local, remote, inode = fields[1], fields[2], fields[9]
            if int(local.rsplit(":", 1)[1], 16) == local_port and (
                int(remote.rsplit(":", 1)[1], 16) == remote_port
            ):
                return inode
    raise AssertionError(f"no TCP socket from port {local_port} to port {remote_port}")


def terminate_worker_connections() -> int:
    """Cut every database session the workers have open, as a failover or a
    restarted PostgreSQL would; how many there were."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND application_name = %s",
            [WORKER_DB_APPLICATION],
        )
        terminated: int = cursor.fetchone()[0]
    return terminated


# --- Rows to send ---------------------------------------------------------------------------


def due_followups(count: int) -> dict[int, str]:
    """``count`` follow-ups due now, by id with their Message-IDs. Mishaps are
    resolved through the services (the resolve hook schedules three
    follow-ups each), then ``count`` of the rows are moved into the past; any
    others stay due in the future. Walking the mishaps writes the customer's
    step emails to the outbox too, due at once: the workers send them as
    well."""
    agent = StaffFactory()
    tickets = [
        advance(TicketFactory(kind=Kind.MISHAP, actor=agent), to="rebuilding")
        for _ in range(-(-count // 3))
    ]
    rows = FollowUp.objects.filter(ticket__in=tickets).order_by("id")
    assert rows.count() == 3 * len(tickets)
    assert not rows.exclude(status=FollowUp.Status.SCHEDULED).exists()
    due_ids = list(rows.values_list("pk", flat=True)[:count])
    FollowUp.objects.filter(pk__in=due_ids).update(due_at=timezone.now() - timedelta(minutes=5))
    return {row.pk: row.message_id for row in FollowUp.objects.filter(pk__in=due_ids)}


def run_in_threads(count: int, work: Callable[[], T]) -> list[T]:
    """``work`` in ``count`` threads at once, each on its own database
    connection, closed at the end; what each returned."""
    barrier = threading.Barrier(count)
    results: list[T] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait(timeout=30)
            results.append(work())
        except BaseException as exc:  # noqa: BLE001 - reported by the calling thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, daemon=True) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    assert not errors, errors
    return results


def claim_all_due() -> list[int]:
    """Hand every due follow-up to the outbox, as recovery's sweep does."""
    claimed: list[int] = []
    while batch := followups_claim_due():
        claimed += batch
    return claimed


def outbox_statuses() -> Counter[str]:
    return Counter(OutboxItem.objects.values_list("status", flat=True))


def all_sent() -> bool:
    """Every row sent and recorded by its source (a follow-up marked sent):
    a batch records its deliveries at its end, the sweep those of a worker
    that died."""
    return not (
        OutboxItem.objects.exclude(status=OutboxItem.Status.SENT).exists()
        or OutboxItem.objects.filter(recorded_at=None).exists()
    )


def not_sent() -> str:
    rows = OutboxItem.objects.exclude(
        status=OutboxItem.Status.SENT, recorded_at__isnull=False
    ).order_by("id")
    return f"{outbox_statuses()}; not sent: " + ", ".join(
        f"{r.pk} {r.source} {r.status} due={r.due_at:%H:%M:%S} lease={r.lease_until} "
        f"attempts={r.attempts} {r.last_error[:80]}"
        for r in rows[:20]
    )
