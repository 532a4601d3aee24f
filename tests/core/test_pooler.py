"""The desk behind a transaction pooler (PgBouncer, DATABASE_TRANSACTION_POOLING)
and on psycopg's pool (DATABASE_POOL_MAX_SIZE): the settings each turns on,
and, in scripts/test's run through PgBouncer, proof that the connection
really goes through it."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection

from bench.servers import PGBOUNCER
from tests.helpers import BASE_DIR, clean_env, production_env

_POOLER_VARS = ("DATABASE_TRANSACTION_POOLING", "DATABASE_POOL_MAX_SIZE", "CONN_MAX_AGE")

_PROBE = """
import json
import sys

import django
from django.conf import settings
from django.db import connection

django.setup()
db = settings.DATABASES["default"]
result = {
    "CONN_MAX_AGE": db["CONN_MAX_AGE"],
    "DISABLE_SERVER_SIDE_CURSORS": db.get("DISABLE_SERVER_SIDE_CURSORS", False),
    "OPTIONS": db.get("OPTIONS", {}),
}
if sys.argv[1:] == ["live"]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        result["answered"] = cursor.fetchone()[0]
    result["pooled"] = connection.pool is not None
    connection.close()
print(json.dumps(result))
"""


def _pooler_env(env: dict[str, str], **values: str) -> dict[str, str]:
    """``env`` without the pooler variables this process may run with, then ``values``."""
    return {k: v for k, v in env.items() if k not in _POOLER_VARS} | values


def test_production_keeps_connections_a_minute_and_no_pool_by_default(tmp_path: Path) -> None:
    loaded = _with_env(_pooler_env(production_env(tmp_path)))

    assert loaded["CONN_MAX_AGE"] == 60
    assert "pool" not in loaded["OPTIONS"]
    assert loaded["DISABLE_SERVER_SIDE_CURSORS"] is False


def test_behind_a_transaction_pooler_nothing_outlives_a_transaction(tmp_path: Path) -> None:
    env = _pooler_env(production_env(tmp_path), DATABASE_TRANSACTION_POOLING="true")

    loaded = _with_env(env)

    # Named cursors (.iterator()) and prepared statements live on the server
    # connection, which PgBouncer hands to another client after each transaction.
    assert loaded["DISABLE_SERVER_SIDE_CURSORS"] is True
    assert loaded["OPTIONS"]["prepare_threshold"] is None
    # Connections to PgBouncer are cheap to keep; it multiplexes them.
    assert loaded["CONN_MAX_AGE"] == 60


def test_psycopgs_pool_replaces_persistent_connections(tmp_path: Path) -> None:
    env = _pooler_env(production_env(tmp_path), DATABASE_POOL_MAX_SIZE="6", CONN_MAX_AGE="60")

    loaded = _with_env(env)

    assert loaded["OPTIONS"]["pool"] == {"min_size": 2, "max_size": 6, "timeout": 10.0}
    # Django refuses a pool beside persistent connections.
    assert loaded["CONN_MAX_AGE"] == 0


@pytest.mark.django_db
def test_psycopgs_pool_serves_queries(tmp_path: Path) -> None:
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    env = _pooler_env(
        clean_env(tmp_path, "helpdesk.settings.test", DATABASE_URL=url),
        DATABASE_POOL_MAX_SIZE="2",
    )

    loaded = _with_env(env, live=True)

    assert loaded["answered"] == 1
    assert loaded["pooled"] is True


def _with_env(env: dict[str, str], *, live: bool = False) -> dict[str, Any]:
    """The settings loaded in a fresh process with exactly ``env``."""
    result = subprocess.run(  # noqa: S603 - our own interpreter and probe
        [sys.executable, "-c", _PROBE, *(["live"] if live else [])],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    loaded: dict[str, Any] = json.loads(result.stdout)
    return loaded


@pytest.mark.pooler
@pytest.mark.django_db
def test_with_the_pooler_setting_on_the_connection_goes_through_pgbouncer() -> None:
    """scripts/test runs this through PgBouncer: the server connection that
    runs this test's transaction is one PgBouncer holds for it, in a pool in
    transaction mode. Run direct with the setting on, it fails (PostgreSQL
    has no "pgbouncer" database)."""
    if not settings.DATABASE_TRANSACTION_POOLING:
        pytest.skip("DATABASE_TRANSACTION_POOLING is off: scripts/test runs this through PgBouncer")
    db = connection.settings_dict
    with connection.cursor() as cursor:  # inside the test's transaction
        cursor.execute("SELECT pg_backend_pid(), current_database()")
        row = cursor.fetchone()
        assert row is not None
        backend_pid, database = row
        with psycopg.connect(
            host=db["HOST"],
            port=db["PORT"],
            user=db["USER"],
            dbname="pgbouncer",
            autocommit=True,
            connect_timeout=5,
        ) as admin:
            servers = _rows(admin, "SHOW SERVERS")
            pools = _rows(admin, "SHOW POOLS")

    ours = [s for s in servers if s["remote_pid"] == backend_pid]
    assert len(ours) == 1, f"backend {backend_pid} is not one of PgBouncer's: {servers}"
    assert ours[0]["database"] == database
    assert ours[0]["state"] == "active"
    assert {p["pool_mode"] for p in pools if p["database"] == database} == {"transaction"}


def _rows(admin: psycopg.Connection[Any], query: str) -> list[dict[str, Any]]:
    cursor = admin.execute(query)
    names = [column.name for column in cursor.description or ()]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("pooler", ["pgbouncer", "pool"])
def test_the_grants_benchmark_runs_through_pgbouncer_and_on_the_pool(
    tmp_path: Path, pooler: str
) -> None:
    """Tiny, as a test that it runs (never that it is fast); committed rows
    (``transaction=True``) for gunicorn's processes to see."""
    if pooler == "pgbouncer" and not Path(PGBOUNCER).exists():
        pytest.skip("PgBouncer is not installed (scripts/test installs it)")
    out = tmp_path / "bench.json"

    call_command("benchmark", scale="tiny", repeat=2, only="grants", pooler=pooler, json=str(out))

    loaded = json.loads(out.read_text())
    assert loaded["meta"]["pooler"] == pooler
    grants = loaded["results"][0]
    assert grants["workload"]["operations"] == 4 * 2
    assert not [n for n in grants["notes"] if n.startswith("ERROR")]
    (database,) = [n for n in grants["notes"] if n.startswith("database: ")]
    if pooler == "pgbouncer":
        # Read from PgBouncer's admin console: the grants went through it.
        carried = re.search(r"it carried (\d+) transactions", database)
        assert carried is not None, database
        assert int(carried.group(1)) >= 4 * 2
    else:
        assert "psycopg's pool" in database
    assert "BENCH_POOLER" not in os.environ
