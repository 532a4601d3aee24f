"""Ninety days of invented history, so a newcomer's trust dashboard shows
meaningful figures at once.

Every step goes through the services, each with the desk's clock frozen
at the moment it happened (``core.clock.frozen(moment)``, which the
services, models and selectors read "now" from), in time order across all
tickets: every row carries its past timestamps, and the rules (weekly
authority budgets, repeat failures, timeliness targets) see the desk as it
was then. What beat does in production (recording missed targets,
sweeping due follow-ups, closing quiet questions, restoring finished plans)
is done by calling the same sweep services at the moments beat would have.
The stories are decided up front with a seeded ``random.Random``, so the
history is the same on every run of a given day.

Why delivery is synchronous here: the services write the customer emails,
staff alerts and follow-ups to the outbox, for a worker. Left to a worker,
the whole history would reach it at once, hundreds of emails stamped with
today's time. Instead, right after each step, what is due is dispatched in
this process by the outbox's own dispatch (``outbox_dispatch``, what the
worker's task runs; see ``living.Worker``), inside the frozen clock and with
Django's dummy email backend: every row ends sent, answered or cancelled
when it would have, nothing from the past is left for beat's sweeps, and no
email leaves. The dispatch tasks the outbox queued as well run in this
process when the history commits (Celery's eager mode) instead of going to
the broker; each finds its rows done and returns.
"""

import logging
import random
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from celery import current_app
from django.db import transaction
from django.test import override_settings

from accounts.models import User
from core import clock
from demo.history.customers import HISTORY_CUSTOMERS
from demo.history.living import Desk, Worker
from demo.history.stories import HISTORY_DAYS, Storyteller
from demo.history.timeline import Timeline
from recovery.models import WebhookEndpoint
from tickets.models import Queue, Ticket
from tickets.selectors import targets_by_severity

__all__ = ["HISTORY_CUSTOMERS", "HISTORY_DAYS", "seed_demo_history"]

SEED = 20260901


def seed_demo_history(
    *, agents: list[User], supervisor: User, named_customers: Sequence[tuple[str, str]]
) -> int:
    """Add the history to a desk that has no tickets yet, for the named demo
    customers (name, email) and ``HISTORY_CUSTOMERS``, who must exist;
    returns how many tickets it created. On a desk with tickets it adds
    nothing: invented past would mix with real data (and a second seeding
    must add nothing). Nor while a webhook endpoint is active: an
    integration would take the history's refunds for real ones."""
    if Ticket.objects.exists() or WebhookEndpoint.objects.filter(active=True).exists():
        return 0
    rng = random.Random(SEED)  # noqa: S311 - invented demo data, not a secret
    timeline = Timeline(until=clock.now())
    stories = Storyteller(
        rng=rng,
        until=timeline.until,
        agents=agents,
        named_customers=named_customers,
        targets=targets_by_severity(),
    ).stories()
    worker = Worker()
    desk = Desk(
        timeline=timeline,
        rng=rng,
        supervisor=supervisor,
        queues={queue.slug: queue for queue in Queue.objects.all()},
        worker=worker,
    )
    with (
        _tasks_run_in_process(),
        override_settings(EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend"),
        transaction.atomic(),
    ):
        desk.begin(stories)
        timeline.run(after_each=worker)
    return len(desk.stories)


@contextmanager
def _tasks_run_in_process() -> Iterator[None]:
    """Celery's eager mode, for the tasks the history queues on commit (see
    the module's docstring): none of them reaches the broker."""
    conf = current_app.conf
    previous = conf.task_always_eager
    # Each would log its (empty) success at INFO: hundreds of lines saying nothing.
    trace = logging.getLogger("celery.app.trace")
    level = trace.level
    conf.task_always_eager = True
    trace.setLevel(logging.WARNING)
    try:
        yield
    finally:
        conf.task_always_eager = previous
        trace.setLevel(level)
