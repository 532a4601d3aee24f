"""The outbox's source of the tests' own (``tests/outbox/fake_source.py``),
registered afresh for each test that asks for it."""

from collections.abc import Iterator
from typing import Any

import pytest

from outbox.sources import register
from tests.outbox import backends
from tests.outbox.fake_source import FakeSource


@pytest.fixture
def source(settings: Any) -> Iterator[FakeSource]:
    settings.EMAIL_BACKEND = "tests.outbox.backends.ScriptedBackend"
    backends.failures.clear()
    backends.connections_opened.clear()
    backends.open_failure.clear()
    test_source = FakeSource()
    register(test_source.source())
    yield test_source
    backends.failures.clear()
    backends.open_failure.clear()
