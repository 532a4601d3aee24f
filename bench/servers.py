"""The real servers the write benchmarks run against, each a subprocess on
127.0.0.1 that is always stopped, even when the benchmark fails: gunicorn
(the production server) for the API, a Celery worker on Redis for
follow-ups, a counting SMTP sink, and PgBouncer between gunicorn and the
database when ``BENCH_POOLER`` asks for it.

Every subprocess gets the benchmark's own settings module and database
(``DATABASE_URL`` rebuilt from the live connection, so under pytest it is
the test database) and sees only committed rows, as in production.
"""

import os
import pwd
import select
import shutil
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

import psycopg
from django.conf import settings
from django.db import connection

START_TIMEOUT = 60.0  # seconds for a server to come up
STOP_TIMEOUT = 15.0  # seconds for a graceful stop before SIGKILL

# How gunicorn's processes reach the database (BENCH_POOLER, or the benchmark
# command's --pooler): "direct", one persistent connection per thread
# (CONN_MAX_AGE, as production); "pgbouncer", through a PgBouncer of the
# benchmark's own in transaction mode; "pool", psycopg's pool in each
# process. The last two hold BENCH_SERVER_CONNECTIONS server connections in
# all (default: half the threads), shared by every thread.
POOLERS = ("direct", "pgbouncer", "pool")
PGBOUNCER = "/usr/sbin/pgbouncer"
# What the last PgBouncer carried to the database, read from its admin
# console as it stopped: proof the traffic went through it.
PGBOUNCER_CARRIED: dict[str, int] = {}


def free_port() -> int:
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


def pooler() -> str:
    mode = os.environ.get("BENCH_POOLER", "") or "direct"
    if mode not in POOLERS:
        raise RuntimeError(f"BENCH_POOLER={mode!r}: one of {', '.join(POOLERS)}.")
    return mode


def server_connections(threads: int) -> int:
    return int(os.environ.get("BENCH_SERVER_CONNECTIONS", "") or max(1, threads // 2))


def describe_database(*, workers: int, threads: int) -> str:
    """How gunicorn reached the database, for the results' notes."""
    mode = pooler()
    if mode == "direct":
        return f"database: direct, CONN_MAX_AGE=60, {workers * threads} server connections"
    shared = server_connections(workers * threads)
    if mode == "pool":
        per_process = max(1, shared // workers)
        return (
            f"database: psycopg's pool, max_size {per_process} in each of {workers} "
            f"processes ({per_process * workers} server connections for "
            f"{workers * threads} threads), CONN_MAX_AGE=0"
        )
    carried = ", ".join(f"{n} {what}" for what, n in PGBOUNCER_CARRIED.items())
    return (
        f"database: through PgBouncer (transaction pooling, default_pool_size {shared} "
        f"for {workers * threads} threads), DATABASE_TRANSACTION_POOLING, CONN_MAX_AGE=60; "
        f"it carried {carried or 'nothing'}"
    )


@contextmanager
def database_env(*, workers: int, threads: int) -> Iterator[dict[str, str]]:
    """The environment that points gunicorn's processes at the database as
    ``BENCH_POOLER`` says, PgBouncer started (and stopped) around it."""
    mode = pooler()
    if mode == "direct":
        yield {
            "CONN_MAX_AGE": "60",
            "DATABASE_POOL_MAX_SIZE": "0",
            "DATABASE_TRANSACTION_POOLING": "false",
        }
        return
    shared = server_connections(workers * threads)
    if mode == "pool":
        per_process = str(max(1, shared // workers))
        # Opened full (min = max) so no request waits for a connect.
        yield {
            "CONN_MAX_AGE": "0",
            "DATABASE_POOL_MAX_SIZE": per_process,
            "DATABASE_POOL_MIN_SIZE": per_process,
            "DATABASE_TRANSACTION_POOLING": "false",
        }
        return
    with pgbouncer(pool_size=shared) as port:
        yield {
            "DATABASE_URL": database_url(via_port=port),
            "DATABASE_TRANSACTION_POOLING": "true",
            "CONN_MAX_AGE": "60",
            "DATABASE_POOL_MAX_SIZE": "0",
        }


@contextmanager
def gunicorn(*, workers: int, threads: int, probe: Callable[[str], bool]) -> Iterator[str]:
    """The production server (gthread workers) serving this database; yields
    its base URL once ``probe(base_url)`` succeeds. Persistent database
    connections (``CONN_MAX_AGE``) as in production settings, unless
    ``BENCH_POOLER`` puts PgBouncer or psycopg's pool between them."""
    with database_env(workers=workers, threads=threads) as env:
        yield from _gunicorn(workers=workers, threads=threads, probe=probe, env=env)


def _gunicorn(
    *, workers: int, threads: int, probe: Callable[[str], bool], env: dict[str, str]
) -> Iterator[str]:
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
        child_env(**env),
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


# --- PgBouncer ----------------------------------------------------------------------


@contextmanager
def pgbouncer(*, pool_size: int) -> Iterator[int]:
    """A PgBouncer of the benchmark's own on 127.0.0.1 in transaction mode in
    front of this database's server (as scripts/lib.sh's start_pgbouncer);
    yields its port once a query through it answers."""
    if not os.path.exists(PGBOUNCER):
        raise RuntimeError("PgBouncer is not installed: apt-get install pgbouncer.")
    db = connection.settings_dict
    user = db["USER"] or "postgres"
    port = free_port()
    folder = tempfile.mkdtemp(prefix="bench-pgbouncer-")
    (ini, users) = (os.path.join(folder, "pgbouncer.ini"), os.path.join(folder, "userlist.txt"))
    with open(ini, "w") as config:
        config.write(
            "[databases]\n"
            f"* = host={db['HOST'] or '127.0.0.1'} port={db['PORT'] or 5432}\n"
            "[pgbouncer]\n"
            f"listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
            f"auth_type = trust\nauth_file = {users}\nadmin_users = {user}\n"
            f"pool_mode = transaction\ndefault_pool_size = {pool_size}\n"
            "max_client_conn = 500\nlog_connections = 0\nlog_disconnections = 0\n"
            "ignore_startup_parameters = extra_float_digits\n"
        )
    with open(users, "w") as userlist:
        userlist.write(f'"{user}" "{db["PASSWORD"] or ""}"\n')
    args = [PGBOUNCER, "--quiet"]
    if os.geteuid() == 0:
        # PgBouncer refuses to run as root: it runs as postgres (nobody on a
        # machine without PostgreSQL's server), which owns its files.
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            owner = pwd.getpwnam("nobody")
        for path in (folder, ini, users):
            os.chown(path, owner.pw_uid, owner.pw_gid)
        args.append(f"--user={owner.pw_name}")
    process = _start("PgBouncer", [*args, ini], dict(os.environ))
    try:
        _wait_until(lambda: _pgbouncer_answers(port, user, db["NAME"]), process)
        PGBOUNCER_CARRIED.clear()
        yield port
        PGBOUNCER_CARRIED.update(_pgbouncer_carried(port, user, db["NAME"]))
        PGBOUNCER_CARRIED["ms of its CPU"] = _cpu_ms(process.popen.pid)
    finally:
        process.stop()
        shutil.rmtree(folder, ignore_errors=True)


def _pgbouncer_answers(port: int, user: str, name: str) -> bool:
    try:
        with psycopg.connect(
            host="127.0.0.1", port=port, user=user, dbname=name, connect_timeout=2
        ) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error:
        return False
    return True


def _cpu_ms(pid: int) -> int:
    """The CPU time a process has used so far (Linux's /proc; 0 elsewhere)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    ticks = int(fields[11]) + int(fields[12])  # utime, stime
    return round(ticks * 1000 / os.sysconf("SC_CLK_TCK"))


def _pgbouncer_carried(port: int, user: str, name: str) -> dict[str, int]:
    with psycopg.connect(
        host="127.0.0.1", port=port, user=user, dbname="pgbouncer", autocommit=True
    ) as admin:
        cursor = admin.execute("SHOW STATS")
        names = [column.name for column in cursor.description or ()]
        for row in cursor.fetchall():
            stats = dict(zip(names, row, strict=True))
            if stats["database"] == name:
                return {
                    "transactions": int(stats["total_xact_count"]),
                    "queries": int(stats["total_query_count"]),
                }
    return {}


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
