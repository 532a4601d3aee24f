from collections.abc import Iterator
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


@pytest.fixture
def deliver_on_commit(django_capture_on_commit_callbacks: Any, settings: Any) -> Iterator[Any]:
    """Run on-commit callbacks (the queued dispatch tasks) eagerly, in-process."""
    from helpdesk.celery import app

    settings.CELERY_TASK_ALWAYS_EAGER = True
    app.conf.task_always_eager = True
    try:
        yield django_capture_on_commit_callbacks
    finally:
        app.conf.task_always_eager = False
