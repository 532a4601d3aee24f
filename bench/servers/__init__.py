"""The real servers the write benchmarks run against, each a subprocess on
127.0.0.1 that is always stopped, even when the benchmark fails: gunicorn
(the production server) for the API, a Celery worker on Redis for
follow-ups, a counting SMTP sink, and PgBouncer between gunicorn and the
database when ``BENCH_POOLER`` asks for it.

Every subprocess gets the benchmark's own settings module and database
(``DATABASE_URL`` rebuilt from the live connection, so under pytest it is
the test database) and sees only committed rows, as in production.

``processes`` starts and stops them; ``web`` is gunicorn and the way its
processes reach the database, ``pgbouncer``, ``sink`` and ``worker`` the others.
"""

from bench.servers.pgbouncer import PGBOUNCER
from bench.servers.processes import conninfo
from bench.servers.sink import smtp_sink
from bench.servers.web import POOLERS, describe_database, gunicorn
from bench.servers.worker import celery_worker

__all__ = [
    "PGBOUNCER",
    "POOLERS",
    "celery_worker",
    "conninfo",
    "describe_database",
    "gunicorn",
    "smtp_sink",
]
