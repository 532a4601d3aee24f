"""Compiled queries run as prepared statements, on PostgreSQL.

PostgreSQL plans a query each time it runs it. The ticket page's query, the
ticket with a dozen correlated subqueries of the customer's trust, took
longer to plan (2.7 ms) than to run (0.9 ms); the conversation's and the
caller's, a third of their time. A prepared statement is planned once a
connection, then its plan is reused (or replanned when PostgreSQL judges a
plan for the values cheaper). A compiled query (``core.compiled``) has the
same SQL on every run, so it is prepared: with persistent connections
(``CONN_MAX_AGE``, psycopg's pool) the planning is paid once a connection.

Django's psycopg cursors bind the parameters on the client, which cannot
prepare; a compiled query runs on a cursor that binds them on the server and
prepares. Not behind a pooler in transaction mode
(``DATABASE_TRANSACTION_POOLING``), whose next transaction may run on a
server connection that never saw the statement; not on a connection opened
for one request (``CONN_MAX_AGE=0``, without the pool); nor on SQLite.
"""

import functools
from dataclasses import dataclass
from typing import Any

from django.conf import settings


def preparing(connection: Any) -> Any:
    """``connection``, or, where prepared statements live between
    requests, a stand-in for it whose cursors prepare what they run.

    Between requests: a connection kept (``CONN_MAX_AGE`` not 0) or taken
    from psycopg's pool. A connection opened for one request would pay a
    round trip more to prepare each statement, for a plan nobody reuses."""
    if connection.vendor != "postgresql" or settings.DATABASE_TRANSACTION_POOLING:
        return connection
    kept = connection.settings_dict["CONN_MAX_AGE"] != 0
    if not (kept or connection.settings_dict["OPTIONS"].get("pool")):
        return connection
    return _Preparing(connection)


class _Preparing:
    """The connection, but for its cursors (what a query's compiler asks of
    it when it runs the query)."""

    def __init__(self, connection: Any) -> None:
        self._connection = connection

    def __getattr__(self, name: str) -> Any:
        return getattr(self._connection, name)

    def cursor(self) -> Any:
        # As Django's own cursor(), with a cursor of the class below.
        connection = self._connection
        connection.close_if_health_check_failed()
        connection.ensure_connection()
        with connection.wrap_database_errors:
            cursor = _cursor_class(logged=connection.queries_logged)(connection.connection)
            _zone_as_djangos(connection, cursor)
            return connection._prepare_cursor(cursor)


def _zone_as_djangos(connection: Any, cursor: Any) -> None:
    """Moments read in the connection's zone, as Django's create_cursor()
    sets them when the connection's loaders disagree with it."""
    from django.db.backends.postgresql.base import TIMESTAMPTZ_OID
    from django.db.backends.postgresql.psycopg_any import register_tzloader
    from psycopg.pq import Format

    loader = connection.connection.adapters.get_loader(TIMESTAMPTZ_OID, Format.TEXT)
    if connection.timezone != loader.timezone:
        register_tzloader(connection.timezone, cursor)


@functools.cache
def _cursor_class(*, logged: bool) -> type:
    # Imported when first used: the backend's module needs psycopg.
    from django.db.backends.postgresql.base import ServerBindingCursor
    from django.db.backends.postgresql.psycopg_any import mogrify

    class PreparingCursor(ServerBindingCursor):
        def execute(self, query: Any, params: Any = None, **options: Any) -> Any:
            ran = super().execute(query, params, **{**options, "prepare": True})  # type: ignore[misc]
            if logged:
                # psycopg keeps no text of a prepared statement's run, where
                # Django's query log (DEBUG, the tests' captures) reads it:
                # the query with its values, as a client-side cursor has it.
                text = mogrify(query, params, self.connection)  # type: ignore[attr-defined]
                self._query = _Text(text.encode())
            return ran

    return PreparingCursor


@dataclass(frozen=True)
class _Text:
    query: bytes
