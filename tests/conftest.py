from collections.abc import Iterator
from typing import Any

import pytest
import time_machine
from celery import Task
from celery.contrib.testing.worker import TestWorkController, start_worker
from django.core.cache import caches
from rest_framework.test import APIClient

from accounts.models import User
from accounts.roles import Role
from helpdesk.celery import app as celery_app
from tests.factories import StaffFactory
from tests.helpers import T0, free_port
from tests.recovery.desk_history import ZONE
from tests.smtp import SmtpSink, running_sink, use_smtp

# The browser fixtures (browser, page): the OS's Chromium driven by Playwright.
pytest_plugins = ["tests.browser"]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "pooler: an API or Celery test; scripts/test runs these through PgBouncer "
        "in transaction mode (set on collection, see pytest_collection_modifyitems)",
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the API and Celery tests, which scripts/test runs through
    PgBouncer (its first run leaves them out): those of API modules
    (``test_*api*.py``, ``api/``), those with a live worker, and those of
    modules that run Celery tasks."""
    for item in items:
        if _api_or_celery(item):
            item.add_marker(pytest.mark.pooler)


def _api_or_celery(item: pytest.Item) -> bool:
    path = item.path
    if "api" in path.stem.split("_") or "api" in path.parent.parts[-1:]:
        return True
    if "celery_worker" in getattr(item, "fixturenames", ()):
        return True
    module = getattr(item, "module", None)
    return module is not None and any(isinstance(v, Task) for v in vars(module).values())


@pytest.fixture(autouse=True)
def _fresh_throttles() -> None:
    """Each test starts with no requests counted against its address."""
    caches["throttle"].clear()


@pytest.fixture
def clock() -> Iterator[time_machine.Traveller]:
    """Time stopped at ``T0``; ``clock.shift(...)`` moves it."""
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture
def desk_zone(settings: Any) -> None:
    """The desk in the zone of ``tests.recovery.desk_history``, whose days
    are not UTC's (use it with ``pytest.mark.usefixtures``)."""
    settings.TIME_ZONE = ZONE


@pytest.fixture
def agent(db: None) -> User:
    return StaffFactory(role=Role.AGENT)


@pytest.fixture
def supervisor(db: None) -> User:
    return StaffFactory(role=Role.SUPERVISOR)


@pytest.fixture
def admin_staff(db: None) -> User:
    return StaffFactory(role=Role.ADMIN)


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def celery_worker(transactional_db: None) -> Iterator[TestWorkController]:
    """A real Celery worker, in a thread, consuming from the test Redis broker.

    Use only in ``transaction=True`` tests: the worker has its own database
    connection and sees only committed rows, as in production.
    """
    # Leftovers from an interrupted run must not be executed against this run's data.
    celery_app.control.purge()
    with start_worker(
        celery_app, pool="solo", perform_ping_check=False, loglevel="WARNING", shutdown_timeout=15
    ) as worker:
        assert isinstance(worker, TestWorkController)  # the stubs say WorkController
        yield worker


@pytest.fixture
def smtp_sink(settings: Any) -> Iterator[SmtpSink]:
    """A real SMTP server on 127.0.0.1 that Django sends to."""
    with running_sink(settings) as sink:
        yield sink


@pytest.fixture
def no_smtp_server(settings: Any) -> None:
    """Django pointed at a local port where nothing listens."""
    use_smtp(settings, free_port())
