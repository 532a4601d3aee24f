"""The database: SQLite locally, PostgreSQL in production, with its timeouts
and the pooling modes (docs/performance.md, "Past one machine")."""

from helpdesk.settings.environment import VAR_DIR, env

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # A server that accepts the TCP connection but never answers (overloaded,
    # half-failed over) would hold a worker or a web thread until the OS gives
    # up, minutes later. Long enough for a busy server under load; libpq
    # counts it per address and treats anything under 2 s as 2 s. A value in
    # DATABASE_URL (?connect_timeout=) wins. /healthz uses a stricter one.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
        "connect_timeout", env.int("DATABASE_CONNECT_TIMEOUT", default=5)
    )
# Behind a pooler in transaction mode (PgBouncer's pool_mode = transaction,
# README "Production", docs/performance.md "Past one machine"): each
# transaction may run on a different server connection, so nothing may live
# on the server between two transactions. Django's server-side cursors
# (.iterator() opens a named cursor WITH HOLD outside a transaction) and
# psycopg's prepared statements do; both off. The desk itself keeps no
# session state: its timeouts are SET LOCAL (set_config(..., true)), its
# locks are row locks, and it uses no LISTEN, advisory locks or temp tables.
DATABASE_TRANSACTION_POOLING = env.bool("DATABASE_TRANSACTION_POOLING", default=False)
# psycopg's pool inside each process (Django's OPTIONS["pool"]): at most this
# many connections per process, shared by its threads; 0 (the default) for
# none. It replaces persistent connections, so CONN_MAX_AGE is 0 with it.
DATABASE_POOL_MAX_SIZE = env.int("DATABASE_POOL_MAX_SIZE", default=0)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    _options = DATABASES["default"].setdefault("OPTIONS", {})
    if DATABASE_TRANSACTION_POOLING:
        DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = True
        # Django's default with psycopg 3 already; pinned here so that turning
        # on server_side_binding never brings prepared statements back.
        _options["prepare_threshold"] = None
    else:
        # Django turns psycopg's prepared statements off, for the poolers'
        # sake; on a direct connection the compiled queries, which ask for
        # them, are planned once a connection (core.prepared). Django's other
        # queries bind their parameters on the client and are never prepared.
        _options.setdefault("prepare_threshold", 5)
    if DATABASE_POOL_MAX_SIZE > 0:
        _options["pool"] = {
            "min_size": min(env.int("DATABASE_POOL_MIN_SIZE", default=2), DATABASE_POOL_MAX_SIZE),
            "max_size": DATABASE_POOL_MAX_SIZE,
            # A request waits this long for a free connection, then fails
            # (PoolTimeout) rather than queueing without end.
            "timeout": env.float("DATABASE_POOL_TIMEOUT", default=10.0),
        }
        DATABASES["default"]["CONN_MAX_AGE"] = 0
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The local web server and Celery worker write to one file at once: WAL and
    # immediate transactions turn "database is locked" into a short wait.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
