"""Follow-ups under faults, with real Celery workers in separate processes
(SPEC, "Rebuilding period and follow-ups": the row, not a broker message, is
the source of truth, and each follow-up is sent exactly once even with several
workers, a worker killed mid-send or a Redis restart).

Each test starts its own SMTP server on 127.0.0.1, which records the
Message-ID of every mail it accepts, and its own worker processes on the test
database and the test Redis database. The sweep is called from the test, as
beat would call it. Where the app waits QUEUED_TIMEOUT or CLAIM_TIMEOUT before
it retries a row, the test moves the row's timestamps back instead of waiting
minutes.
"""

import asyncio
import base64
import contextlib
import ctypes
import email
import email.policy
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import redis
from aiosmtpd.controller import Controller
from django.conf import settings
from django.db import connection
from django.utils import timezone

from recovery.models import FollowUp
from recovery.services import followups as followup_services
from recovery.services.followups import CLAIM_TIMEOUT, QUEUED_TIMEOUT, followups_claim_due
from tests.factories import StaffFactory, TicketFactory, advance
from tests.smtp import free_port
from tickets.models import Kind

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

BASE_DIR = Path(settings.BASE_DIR)
CELERY = Path(sys.executable).parent / "celery"
WORKER_READY_TIMEOUT = 60
DELIVERY_TIMEOUT = 90
HOLD_LIMIT = 60  # an SMTP transaction is never held longer, whatever the test does
PR_SET_PDEATHSIG = 1  # linux/prctl.h
SENT = FollowUp.Status.SENT
# A send task in a worker's log: a batch, or one follow-up's retry.
SEND_TASK = re.compile(r"Task recovery\.followup_send(?:_batch)?\[")
QUEUED = FollowUp.Status.QUEUED


# --- The SMTP server --------------------------------------------------------------------


class FaultySmtp:
    """An aiosmtpd handler that takes ``delay`` seconds over each mail and
    records its Message-ID when it answers 250, the moment a real server takes
    responsibility for it. To let the test kill the worker on the other end at
    a known point, it can hold one transaction: ``hold_data = n`` holds the
    n-th mail before it is taken, ``hold_reply = n`` takes the n-th mail and
    holds its 250 (the worker dies with the mail delivered and not marked
    sent), ``hold_after = n`` holds the command that follows the n-th mail's
    250 on the same session (the next mail of a batch, or the QUIT)."""

    def __init__(self) -> None:
        self.port = 0
        self.delay = 0.0
        self.hold_data: int | None = None
        self.hold_reply: int | None = None
        self.hold_after: int | None = None
        self.held = threading.Event()
        self.release = threading.Event()
        self.held_peer_port: int | None = None
        self.held_message_id: str | None = None
        self._lock = threading.Lock()
        self._accepted: list[str] = []
        self._dropped: list[str] = []
        self._after_holds: dict[Any, str] = {}
        self._count = 0  # written by the server's event loop thread only

    @property
    def accepted(self) -> list[str]:
        with self._lock:
            return list(self._accepted)

    @property
    def dropped(self) -> list[str]:
        """Mails whose connection was lost before the server's 250."""
        with self._lock:
            return list(self._dropped)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        message_id = str(message["Message-ID"]).strip()
        self._count += 1
        number = self._count
        try:
            if self.delay:
                await asyncio.sleep(self.delay)
            if number == self.hold_data:
                await self._hold(session, message_id)
        except asyncio.CancelledError:
            # aiosmtpd cancels the handler when the client's connection drops.
            with self._lock:
                self._dropped.append(message_id)
            raise
        with self._lock:
            self._accepted.append(message_id)
        if number == self.hold_reply:
            # Taken: a drop of the connection now does not undo that.
            with contextlib.suppress(asyncio.CancelledError):
                await self._hold(session, message_id)
        if number == self.hold_after:
            self._after_holds[session.peer] = message_id
        return "250 Message accepted for delivery"

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, mail_options: list[str]
    ) -> str:
        await self._hold_after(session)
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_QUIT(self, server: Any, session: Any, envelope: Any) -> str:
        await self._hold_after(session)
        return "221 Bye"

    async def _hold_after(self, session: Any) -> None:
        message_id = self._after_holds.pop(session.peer, None)
        if message_id is not None:
            await self._hold(session, message_id)

    async def _hold(self, session: Any, message_id: str) -> None:
        self.held_peer_port = session.peer[1]
        self.held_message_id = message_id
        self.held.set()
        deadline = time.monotonic() + HOLD_LIMIT
        while not self.release.is_set() and time.monotonic() < deadline:
            await asyncio.sleep(0.01)


@pytest.fixture
def sink() -> Iterator[FaultySmtp]:
    handler = FaultySmtp()
    handler.port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=handler.port)
    controller.start()
    try:
        yield handler
    finally:
        handler.release.set()
        controller.stop()


# --- Redis ------------------------------------------------------------------------------


@pytest.fixture
def broker() -> Iterator[redis.Redis]:
    """The test's own Redis database, empty before and after. Only this
    database is ever flushed."""
    assert settings.CELERY_BROKER_URL == settings.REDIS_URL
    client = redis.Redis.from_url(settings.REDIS_URL)
    if int(client.connection_pool.connection_kwargs.get("db", 0)) == 0:
        pytest.skip("Refusing to flush Redis database 0: set REDIS_URL to a test database.")
    client.flushdb()
    try:
        yield client
    finally:
        client.flushdb()
        client.close()


# --- Worker processes ---------------------------------------------------------------------


def database_url() -> str:
    """The database pytest-django created, as a URL for another process."""
    db = settings.DATABASES["default"]
    assert db["ENGINE"] == "django.db.backends.postgresql"
    auth = quote(db["USER"]) + (f":{quote(db['PASSWORD'])}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"


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
            command = [
                str(CELERY),
                "-A",
                "helpdesk",
                "worker",
                "--pool",
                pool,
                "--concurrency",
                "1",
                "-l",
                "INFO",
                "-n",
                f"faults{number}@127.0.0.1",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ]
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
                lambda process=process: b" ready." in self.logs[process.pid].read_bytes(),
                timeout=WORKER_READY_TIMEOUT,
                what=f"worker {process.pid} ready",
                details=self.tails,
                alive=lambda process=process: process.poll() is None,
            )
        return started

    def kill(self, process: subprocess.Popen[bytes]) -> None:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)

    def owner_of(self, local_port: int, remote_port: int) -> subprocess.Popen[bytes]:
        """The live worker whose TCP socket goes from ``local_port`` to ``remote_port``."""
        inode = socket_inode(local_port, remote_port)
        for process in self.processes:
            if process.poll() is not None:
                continue
            fd_dir = Path(f"/proc/{process.pid}/fd")
            for fd in fd_dir.iterdir():
                try:
                    if os.readlink(fd) == f"socket:[{inode}]":
                        return process
                except OSError:
                    continue
        raise AssertionError(f"no worker holds the connection from port {local_port}")

    def ran_tasks(self, process: subprocess.Popen[bytes]) -> int:
        text = self.logs[process.pid].read_text(errors="replace")
        return len(SEND_TASK.findall(text))

    def finished_sends(self) -> int:
        """Send tasks run to the end, by all workers so far."""
        return sum(
            len(re.findall(SEND_TASK.pattern + r"[^]]+\] succeeded", path.read_text()))
            for path in self.logs.values()
        )

    def tails(self) -> str:
        return "\n".join(
            f"--- worker {pid} ---\n"
            + "\n".join(path.read_text(errors="replace").splitlines()[-30:])
            for pid, path in self.logs.items()
        )

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                signal_group(process, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                signal_group(process, signal.SIGKILL)
                process.wait(timeout=10)
            # A prefork child outlives a parent killed with SIGKILL.
            signal_group(process, signal.SIGKILL)


_prctl = ctypes.CDLL(None, use_errno=True).prctl


def die_with_pytest() -> None:
    """In the worker, before exec: the kernel kills it if pytest itself dies
    without running the fixtures' cleanup (killed by a timeout, say)."""
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


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


@pytest.fixture
def workers(
    transactional_db: None, sink: FaultySmtp, broker: redis.Redis, tmp_path: Path
) -> Iterator[Workers]:
    """Start worker processes with ``workers.start()``; all are stopped at the
    end, before the test database is flushed, whatever the test's outcome."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "EMAIL_URL"}
    }
    env.update(
        DJANGO_SETTINGS_MODULE="tests.recovery.faults_settings",
        PYTHONPATH=str(BASE_DIR),
        PYTHONUNBUFFERED="1",
        DATABASE_URL=database_url(),
        REDIS_URL=settings.REDIS_URL,
        EMAIL_URL=f"smtp://127.0.0.1:{sink.port}",
        EMAIL_TIMEOUT="30",  # longer than any hold, so a held send does not time out
        LOG_LEVEL="INFO",
    )
    pool = Workers(env, tmp_path)
    try:
        yield pool
    finally:
        sink.release.set()
        pool.stop_all()


# --- Helpers ------------------------------------------------------------------------------


def wait_for(
    check: Callable[[], Any],
    *,
    timeout: float,
    what: str,
    interval: float = 0.1,
    details: Callable[[], str] = lambda: "",
    alive: Callable[[], bool] = lambda: True,
) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline or not alive():
            reason = "gave up" if alive() else "process died"
            raise AssertionError(f"{what}: not reached within {timeout} s ({reason})\n{details()}")
        time.sleep(interval)


def due_followups(count: int) -> dict[int, str]:
    """``count`` follow-ups due now, by id with their Message-IDs. Mishaps are
    resolved through the services (the resolve hook schedules three follow-ups
    each), then ``count`` of the rows are moved into the past; any others stay
    due in the future. Walking the mishaps queues ticket emails too: the tests
    flush those from the broker before any worker starts."""
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


def sweep_in_parallel(threads: int) -> list[list[int]]:
    """``followups_claim_due`` from this thread and ``threads`` others at
    once; each thread has its own database connection, closed at the end."""
    barrier = threading.Barrier(threads + 1)
    results: list[list[int]] = []
    errors: list[BaseException] = []

    def sweep() -> None:
        try:
            barrier.wait(timeout=30)
            results.append(followups_claim_due())
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)
        finally:
            connection.close()

    pool = [threading.Thread(target=sweep, daemon=True) for _ in range(threads)]
    for thread in pool:
        thread.start()
    barrier.wait(timeout=30)
    results.append(followups_claim_due())
    for thread in pool:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in pool)
    assert not errors, errors
    return results


def sweep_until_sent(ids: Iterable[int], *, count: int | None = None) -> list[int]:
    """Run the sweep as beat would, every quarter second, until ``count`` of
    the rows (all by default) are sent; returns what those sweeps queued."""
    ids = list(ids)
    target = len(ids) if count is None else count
    queued: list[int] = []

    def done() -> bool:
        queued.extend(followups_claim_due())
        return FollowUp.objects.filter(pk__in=ids, status=SENT).count() >= target

    def state() -> str:
        rows = FollowUp.objects.filter(pk__in=ids).exclude(status=SENT)
        return "not sent: " + ", ".join(
            f"{r.pk} {r.status} claimed_at={r.claimed_at} attempts={r.attempts} {r.last_error}"
            for r in rows[:20]
        )

    wait_for(
        done,
        timeout=DELIVERY_TIMEOUT,
        what=f"{target} follow-ups sent",
        interval=0.25,
        details=state,
    )
    return queued


def time_passes(ids: Iterable[int]) -> None:
    """What QUEUED_TIMEOUT and CLAIM_TIMEOUT of waiting do to queued rows."""
    now = timezone.now()
    stuck = FollowUp.objects.filter(pk__in=list(ids), status=QUEUED)
    stuck.update(queued_at=now - QUEUED_TIMEOUT - timedelta(seconds=1))
    stuck.filter(claimed_at__isnull=False).update(
        claimed_at=now - CLAIM_TIMEOUT - timedelta(seconds=1)
    )


def deliveries(accepted: list[str]) -> Counter[str]:
    # Follow-ups' Message-IDs read <hd.HD-000123.followup-<pk>.<signature>@domain>.
    return Counter(m for m in accepted if ".followup-" in m)


def assert_each_delivered_once(expected: dict[int, str], accepted: list[str]) -> None:
    received = deliveries(accepted)
    twice = sorted(m for m, n in received.items() if n > 1)
    missing = sorted(set(expected.values()) - set(received))
    unknown = sorted(set(received) - set(expected.values()))
    assert not twice, f"received more than once: {twice}"
    assert not missing, f"never received: {missing}"
    assert not unknown, f"not one of the due follow-ups: {unknown}"
    statuses = Counter(FollowUp.objects.filter(pk__in=expected).values_list("status", flat=True))
    assert statuses == {SENT: len(expected)}


def queued_send_ids(broker: redis.Redis) -> list[int]:
    """The follow-up ids of the send tasks waiting in the broker."""
    ids = []
    for raw in broker.lrange("celery", 0, -1):
        message = json.loads(raw)
        assert message["headers"]["task"] == "recovery.followup_send_batch"
        args, _kwargs, _embed = json.loads(base64.b64decode(message["body"]))
        ids.extend(args[0])
    return ids


def id_of(expected: dict[int, str], message_id: str | None) -> int:
    return next(pk for pk, mid in expected.items() if mid == message_id)


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> int:
    """Send tasks of a few rows each (the sweep, in this process, makes the
    batches), so that a few dozen rows keep several workers busy."""
    monkeypatch.setattr(followup_services, "SEND_BATCH", 5)
    return 5


def after_in_batch(claimed: list[int], pk: int, size: int) -> list[int]:
    """The rows the sweep put in ``pk``'s send task after it."""
    start = claimed.index(pk) // size * size
    batch = claimed[start : start + size]
    return batch[batch.index(pk) + 1 :]


# --- Tests ----------------------------------------------------------------------------------


def test_three_workers_and_four_sweeps_send_each_followup_once(
    workers: Workers, sink: FaultySmtp, broker: redis.Redis, small_batches: int
) -> None:
    expected = due_followups(45)
    broker.flushdb()  # the ticket emails queued while the mishaps were walked through
    sink.delay = 0.05
    started = workers.start("solo", "solo", "prefork")

    claimed = sweep_in_parallel(threads=3)

    every = [pk for ids in claimed for pk in ids]
    assert len(every) == len(set(every)), "a row was claimed by two sweeps"
    assert set(every) == set(expected)
    requeued = sweep_until_sent(expected)
    assert requeued == [], "rows queued moments ago were queued again"
    assert_each_delivered_once(expected, sink.accepted)
    assert set(FollowUp.objects.filter(pk__in=expected).values_list("attempts", flat=True)) == {1}
    # The three workers really shared the work.
    assert all(workers.ran_tasks(process) for process in started), workers.tails()


def test_worker_killed_mid_send_leaves_its_rows_to_the_sweep_and_each_is_sent_once(
    workers: Workers, sink: FaultySmtp, broker: redis.Redis, small_batches: int
) -> None:
    """The mails of the killed worker's batch sent before its death are not
    sent again; the one in flight and those after it wait for the sweep."""
    expected = due_followups(45)
    broker.flushdb()
    sink.delay = 0.2
    sink.hold_data = 5  # the fifth mail: its worker dies before the server's 250
    workers.start("solo", "solo", "solo")

    claimed = followups_claim_due()
    assert set(claimed) == set(expected)
    wait_for(sink.held.is_set, timeout=30, what="the fifth mail in flight", details=workers.tails)
    victim = workers.owner_of(sink.held_peer_port or 0, sink.port)
    in_flight = id_of(expected, sink.held_message_id)
    stranded = after_in_batch(claimed, in_flight, small_batches)
    workers.kill(victim)
    wait_for(
        lambda: sink.held_message_id in sink.dropped,
        timeout=10,
        what="the server to see the connection drop",
    )
    workers.start()  # its replacement

    # The others are sent; the killed worker's row stays claimed and queued,
    # the rest of its batch queued and unclaimed (their broker message is
    # unacknowledged until the visibility timeout).
    assert sweep_until_sent(expected, count=len(expected) - 1 - len(stranded)) == []
    stuck = FollowUp.objects.get(pk=in_flight)
    assert (stuck.status, stuck.attempts) == (QUEUED, 1)
    assert stuck.claimed_at is not None
    assert set(
        FollowUp.objects.filter(pk__in=stranded).values_list("status", "attempts", "claimed_at")
    ) <= {(QUEUED, 0, None)}
    assert followups_claim_due() == [], "requeued before QUEUED_TIMEOUT"

    time_passes([in_flight, *stranded])
    assert sorted(followups_claim_due()) == sorted([in_flight, *stranded])
    assert sweep_until_sent(expected) == []

    assert_each_delivered_once(expected, sink.accepted)
    assert FollowUp.objects.get(pk=in_flight).attempts == 2


def test_worker_killed_after_the_server_accepted_resends_only_that_mail_under_its_id(
    workers: Workers, sink: FaultySmtp, broker: redis.Redis, small_batches: int
) -> None:
    """The one case no SMTP sender can close: the server took the mail and the
    worker died before recording it. The row is sent again after the claim
    times out (nothing is dropped), under the same Message-ID, so the
    receiving system can recognise the copy; every other mail arrives once.
    The window is the time between the server's 250 and one UPDATE."""
    expected = due_followups(12)
    broker.flushdb()
    sink.delay = 0.1
    sink.hold_reply = 3  # the third mail is taken; its worker dies before marking it sent
    workers.start("solo", "solo")

    claimed = followups_claim_due()
    assert set(claimed) == set(expected)
    wait_for(sink.held.is_set, timeout=30, what="the third mail accepted", details=workers.tails)
    victim = workers.owner_of(sink.held_peer_port or 0, sink.port)
    in_flight = id_of(expected, sink.held_message_id)
    stranded = after_in_batch(claimed, in_flight, small_batches)
    workers.kill(victim)
    workers.start()

    assert sweep_until_sent(expected, count=len(expected) - 1 - len(stranded)) == []
    assert FollowUp.objects.get(pk=in_flight).status == QUEUED
    time_passes([in_flight, *stranded])
    assert sorted(followups_claim_due()) == sorted([in_flight, *stranded])
    sweep_until_sent(expected)

    received = deliveries(sink.accepted)
    assert set(received) == set(expected.values())
    twice = {m: n for m, n in received.items() if n > 1}
    assert twice == {expected[in_flight]: 2}


def test_backlog_queued_again_while_a_mail_is_in_flight_is_sent_once(
    workers: Workers, sink: FaultySmtp, broker: redis.Redis, small_batches: int
) -> None:
    """A backlog older than QUEUED_TIMEOUT is queued again by the sweep while
    one of its mails is being sent and the rest still wait in the broker: the
    second task of each row must leave it alone (the claim's CLAIM_TIMEOUT
    condition and the status condition)."""
    expected = due_followups(24)
    broker.flushdb()
    sink.delay = 0.1
    sink.hold_data = 3
    workers.start("solo", "solo")

    assert set(followups_claim_due()) == set(expected)
    wait_for(sink.held.is_set, timeout=30, what="the third mail in flight", details=workers.tails)
    in_flight = id_of(expected, sink.held_message_id)
    FollowUp.objects.filter(pk__in=expected, status=QUEUED).update(
        queued_at=timezone.now() - QUEUED_TIMEOUT - timedelta(seconds=1)
    )
    requeued = followups_claim_due()
    assert in_flight in requeued

    # Every task but the held one runs to the end while the held mail is still
    # in flight, the in-flight row's second task among them.
    tasks = -(-len(expected) // small_batches) + -(-len(requeued) // small_batches)
    wait_for(
        lambda: workers.finished_sends() == tasks - 1,
        timeout=DELIVERY_TIMEOUT,
        what="the other tasks finished",
        interval=0.25,
        details=workers.tails,
    )
    held = FollowUp.objects.get(pk=in_flight)
    assert (held.status, held.attempts) == (QUEUED, 1)
    assert broker.llen("celery") == 0
    sink.release.set()

    assert sweep_until_sent(expected) == []
    assert_each_delivered_once(expected, sink.accepted)
    assert set(FollowUp.objects.filter(pk__in=expected).values_list("attempts", flat=True)) == {1}


def test_tasks_lost_with_redis_are_queued_again_by_the_sweep_and_sent_once(
    workers: Workers, sink: FaultySmtp, broker: redis.Redis, small_batches: int
) -> None:
    expected = due_followups(45)
    broker.flushdb()
    sink.delay = 0.2
    workers.start("solo", "solo")

    assert set(followups_claim_due()) == set(expected)
    wait_for(lambda: len(sink.accepted) >= 4, timeout=30, what="four mails sent")
    broker.flushdb()  # Redis comes back empty: every task still in the queue is gone

    # Wait for the sends in flight at the flush to finish: nothing claimed and unsent,
    # and the number sent still for a second.
    sent_counts: list[int] = []

    def settled() -> bool:
        rows = FollowUp.objects.filter(pk__in=expected)
        sent_counts.append(rows.filter(status=SENT).count())
        in_flight = rows.filter(status=QUEUED, claimed_at__isnull=False).exists()
        return not in_flight and len(sent_counts) > 5 and len(set(sent_counts[-5:])) == 1

    wait_for(settled, timeout=30, what="the sends in flight to finish", interval=0.25)
    lost = set(
        FollowUp.objects.filter(pk__in=expected, status=QUEUED, claimed_at=None).values_list(
            "pk", flat=True
        )
    )
    sent = set(FollowUp.objects.filter(pk__in=expected, status=SENT).values_list("pk", flat=True))
    assert lost, "the flush lost no task: the test did not test anything"
    assert lost | sent == set(expected)
    assert broker.llen("celery") == 0
    assert followups_claim_due() == [], "requeued before QUEUED_TIMEOUT"

    time_passes(lost)
    assert set(followups_claim_due()) == lost
    assert sweep_until_sent(expected) == []

    assert_each_delivered_once(expected, sink.accepted)
    assert set(FollowUp.objects.filter(pk__in=expected).values_list("attempts", flat=True)) == {1}


def test_parallel_sweeps_claim_each_due_row_exactly_once(
    transactional_db: None, broker: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = due_followups(200)
    not_due = set(
        FollowUp.objects.exclude(pk__in=expected).values_list("pk", flat=True)
    )  # the 201st row, due weeks from now
    assert len(not_due) == 1
    broker.flushdb()
    # Small batches, so the four sweeps interleave over many SKIP LOCKED rounds.
    monkeypatch.setattr(followup_services, "SWEEP_BATCH", 15)
    barrier = threading.Barrier(4)
    claimed: list[list[int]] = [[] for _ in range(4)]
    errors: list[BaseException] = []

    def sweep(mine: list[int]) -> None:
        try:
            barrier.wait(timeout=30)
            while FollowUp.objects.filter(
                status=FollowUp.Status.SCHEDULED, due_at__lte=timezone.now()
            ).exists():
                mine.extend(followups_claim_due())
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=sweep, args=(mine,), daemon=True) for mine in claimed]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    assert not errors, errors

    every = [pk for mine in claimed for pk in mine]
    assert len(every) == len(set(every)), "a row was claimed by two sweeps"
    assert set(every) == set(expected)
    rows = FollowUp.objects.filter(pk__in=expected)
    assert set(rows.values_list("status", flat=True)) == {QUEUED}
    assert not rows.filter(queued_at=None).exists()
    assert set(FollowUp.objects.filter(pk__in=not_due).values_list("status", flat=True)) == {
        FollowUp.Status.SCHEDULED
    }
    # The send tasks carry each claimed row once, no more.
    sent_by_tasks = queued_send_ids(broker)
    assert sorted(sent_by_tasks) == sorted(expected)
