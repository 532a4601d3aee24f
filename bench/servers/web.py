"""gunicorn, the production server, serving the benchmark's database, and the
way its processes reach that database: directly, through a PgBouncer of the
benchmark's own, or on psycopg's pool (``BENCH_POOLER``)."""

import os
import socket
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from bench.servers.pgbouncer import PGBOUNCER_CARRIED, pgbouncer
from bench.servers.processes import child_env, database_url, free_port, start, wait_until

# How gunicorn's processes reach the database (BENCH_POOLER, or the benchmark
# command's --pooler): "direct", one persistent connection per thread
# (CONN_MAX_AGE, as production); "pgbouncer", through a PgBouncer of the
# benchmark's own in transaction mode; "pool", psycopg's pool in each
# process. The last two hold BENCH_SERVER_CONNECTIONS server connections in
# all (default: half the threads), shared by every thread.
POOLERS = ("direct", "pgbouncer", "pool")


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
    process = start(
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
        wait_until(lambda: _answers(port) and probe(base), process)
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
