"""The desk's clock: what services, models and selectors take "now" from.

It is the wall clock (``django.utils.timezone.now``) except inside
``clock.frozen(moment)``, where it answers ``moment``. The demo's history
(demo/history) lives ninety past days through the services this way, each
step at its own moment, so every row it writes carries its past timestamps
and the rules (weekly budgets, repeat failures, timeliness targets) see the
desk as it was then; nothing patches the interpreter's clock.

The moment is held in a context variable, so it is confined to the thread
or task that set it: a web request or a worker beside the demo's seeding
still reads the wall clock.

Models take their timestamps from here too: ``default=clock.now`` in place
of ``default=timezone.now``, and ``clock.DateTimeField`` where a field has
``auto_now`` or ``auto_now_add``, which Django fills from the wall clock.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from typing import Any

from django.db import models
from django.utils import timezone

_frozen_at: ContextVar[datetime | None] = ContextVar("clock_frozen_at", default=None)


def now() -> datetime:
    """The current moment, aware: the wall clock, or the one ``frozen`` set."""
    moment = _frozen_at.get()
    return timezone.now() if moment is None else moment


@contextmanager
def frozen(moment: datetime) -> Iterator[None]:
    """``now()`` answers ``moment`` while the block runs, in this context only."""
    if timezone.is_naive(moment):
        raise ValueError("The clock is frozen at an aware datetime only.")
    token = _frozen_at.set(moment)
    try:
        yield
    finally:
        _frozen_at.reset(token)


class DateTimeField(models.DateTimeField):
    """Django's ``DateTimeField`` whose ``auto_now`` and ``auto_now_add``
    read ``now()`` rather than the wall clock."""

    def pre_save(self, model_instance: models.Model, add: bool) -> Any:
        if self.auto_now or (self.auto_now_add and add):
            value = now()
            setattr(model_instance, self.attname, value)
            return value
        return super().pre_save(model_instance, add)
