"""How a read workload measures: the request through the whole Django stack
in-process with the test ``Client`` (a token for the API, a session for the
console), beside its floor, the same rows fetched with raw SQL on the
psycopg connection under Django's."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import override_settings

from accounts.models import User
from accounts.services import staff_issue_token
from bench.measure import Result, time_side_by_side
from bench.workloads import Context


class MissingData(RuntimeError):
    pass


def generated_staff(prefix: str) -> User:
    user = User.objects.filter(username__startswith=prefix).order_by("username").first()
    if user is None:
        raise MissingData(
            "No generated staff here: run `manage.py generate_load_data` on this database first."
        )
    return user


@contextmanager
def in_process() -> Iterator[None]:
    # The test client's host name, whatever the deployment allows. And the
    # connection kept, as production keeps it (CONN_MAX_AGE=60): the test
    # client keeps it between requests whatever the setting says, and what
    # a kept connection does besides (its prepared statements, see
    # core.prepared) is what production gets.
    kept = connection.settings_dict["CONN_MAX_AGE"]
    connection.settings_dict["CONN_MAX_AGE"] = kept or 60
    try:
        with override_settings(ALLOWED_HOSTS=[*settings.ALLOWED_HOSTS, "testserver"]):
            yield
    finally:
        connection.settings_dict["CONN_MAX_AGE"] = kept


def api_client(user: User) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Token {staff_issue_token(user=user)}")


def get_call(
    client: Client, url: str, params: dict[str, Any] | None = None
) -> Callable[[], object]:
    def call() -> object:
        response = client.get(url, params or {})
        if response.status_code != 200:
            raise RuntimeError(f"GET {url} {params} answered {response.status_code}")
        return response.content

    return call


def raw_call(sql: str, params: dict[str, Any]) -> Callable[[], object]:
    def call() -> object:
        with connection.cursor() as cursor:
            raw = cursor.cursor  # psycopg's cursor: no Django wrapper on the floor
            raw.execute(sql, params)
            return raw.fetchall()

    return call


def measure_read(
    name: str,
    description: str,
    context: Context,
    work: Callable[[], object],
    floor: Callable[[], object],
    targets: dict[str, float],
    notes: list[str] | None = None,
) -> Result:
    with in_process():
        workload_timing, floor_timing = time_side_by_side(work, floor, repeat=context.repeat)
    notes = list(notes or [])
    if settings.DEBUG:
        notes.append("DEBUG is on: Django logs every query, which slows the workload side.")
    return Result(name, description, workload_timing, floor_timing, notes, targets)
