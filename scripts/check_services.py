"""Fail early, with how to fix it, when the test services are not reachable;
create the project database when the server has none."""

import os
import sys

import psycopg
import redis
from psycopg import sql

POSTGRES_START = "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"
REDIS_START = (
    'redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" '
    "--appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log"
)


def main() -> int:
    failures = []
    database_url = os.environ["DATABASE_URL"]
    # Connect to the maintenance database: the test database is made by pytest.
    server_url = database_url.rsplit("/", 1)[0] + "/postgres"
    database = database_url.rsplit("/", 1)[1]
    try:
        with psycopg.connect(server_url, connect_timeout=5, autocommit=True) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (database,)
            ).fetchone()
            if not exists:
                # makemigrations --check reads the migration history from it.
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    except psycopg.Error as exc:
        failures.append(
            f"PostgreSQL is not reachable at {server_url}: {exc}\n  Start it with: {POSTGRES_START}"
        )
    redis_url = os.environ["REDIS_URL"]
    try:
        redis.Redis.from_url(redis_url, socket_connect_timeout=5).ping()
    except redis.RedisError as exc:
        failures.append(
            f"Redis is not reachable at {redis_url}: {exc}\n  Start it with: {REDIS_START}"
        )
    for failure in failures:
        print(failure, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
