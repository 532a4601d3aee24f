"""A PgBouncer of the benchmark's own in transaction mode, in front of this
database's server, and what it carried to the database as it stopped."""

import os
import pwd
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from django.db import connection

from bench.servers.processes import free_port, start, wait_until

PGBOUNCER = "/usr/sbin/pgbouncer"
# What the last PgBouncer carried to the database, read from its admin
# console as it stopped: proof the traffic went through it.
PGBOUNCER_CARRIED: dict[str, int] = {}


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
    process = start("PgBouncer", [*args, ini], dict(os.environ))
    try:
        wait_until(lambda: _pgbouncer_answers(port, user, db["NAME"]), process)
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
