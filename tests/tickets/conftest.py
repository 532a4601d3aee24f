from typing import Any

import pytest

from outbox.tasks import outbox_dispatch_task


@pytest.fixture
def queued_tasks(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The outbox's dispatch tasks queued (each one's argument: item ids, or
    None for any due rows), kept here instead of going to the broker."""
    queued: list[Any] = []
    monkeypatch.setattr(outbox_dispatch_task, "delay", queued.append)
    return queued
