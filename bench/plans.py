"""A generated ticket's life, decided before any of its rows are written
(``TicketPlan``): its kind, severity and channel, how far it got before now,
and when each step happened, within or past the severity's targets."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

# How long each step takes, by severity: (acknowledge, apologize) targets of
# migration tickets/0002, which the generated delays sometimes miss on purpose.
TARGETS = {
    "critical": (timedelta(minutes=15), timedelta(hours=1)),
    "major": (timedelta(hours=1), timedelta(hours=4)),
    "minor": (timedelta(hours=4), timedelta(hours=24)),
}
CLOSE_AFTER = timedelta(days=7)  # a resolved question is closed after a quiet week
CHANNELS = (("email", 55), ("phone", 15), ("chat", 15), ("web", 8), ("social", 5), ("sms", 2))
SEVERITIES = (("minor", 70), ("major", 24), ("critical", 6))
# The furthest each ticket gets, before the clock (now) cuts it short.
QUESTION_GOALS = (("closed", 82), ("resolved", 3), ("acknowledged", 8), ("new", 7))
MISHAP_GOALS = (
    ("restored", 72),
    ("rebuilding", 8),
    ("committed", 8),
    ("apologized", 4),
    ("acknowledged", 3),
    ("new", 5),
)


def weighted(rng: random.Random, choices: Sequence[tuple[str, int]]) -> str:
    return rng.choices([c for c, _ in choices], weights=[w for _, w in choices])[0]


@dataclass
class TicketPlan:
    """One ticket's life, decided before any of its rows are written."""

    id: int
    kind: str
    severity: str
    channel: str
    status: str
    customer_id: int
    queue_id: int
    assignee_id: int | None
    subject: str
    product: str
    order: str
    created_at: datetime
    times: dict[str, datetime]  # step -> when: acknowledged, apologized, ...
    messages: int
    updated_at: datetime = field(init=False)

    def __post_init__(self) -> None:
        self.updated_at = max([self.created_at, *self.times.values()])


def lifecycle(
    rng: random.Random, now: datetime, kind: str, severity: str, goal: str, created: datetime
) -> dict[str, datetime]:
    """The step times up to ``goal``, cut where the next one would be in the future."""
    ack_target, apology_target = TARGETS[severity]
    steps: list[tuple[str, timedelta]] = [
        ("acknowledged", ack_target * rng.uniform(0.05, 1.6)),
    ]
    if kind == "mishap":
        steps += [
            ("apologized", (apology_target - ack_target) * rng.uniform(0.05, 1.4)),
            ("committed", timedelta(minutes=rng.uniform(5, 240))),
            ("resolved", timedelta(hours=rng.uniform(4, 120))),
            ("restored", timedelta(days=31, hours=rng.uniform(0, 48))),
        ]
    else:
        steps += [
            ("resolved", timedelta(hours=rng.uniform(0.2, 48))),
            ("closed", CLOSE_AFTER + timedelta(hours=rng.uniform(0, 6))),
        ]
    order = [name for name, _ in steps]
    last = order.index(goal) if goal in order else -1
    if goal == "rebuilding":
        last = order.index("resolved")
    if goal == "resolved" and kind == "question":
        last = order.index("resolved")
    times: dict[str, datetime] = {}
    at = created
    for index, (name, delay) in enumerate(steps):
        if index > last:
            break
        at = at + delay
        if at >= now:
            break
        times[name] = at
    # A resolved question past its quiet week is closed by beat; a mishap
    # past its 30-day plan is restored: the clock decides, not the goal.
    if "resolved" in times and kind == "question" and "closed" not in times:
        closes = times["resolved"] + CLOSE_AFTER
        if closes < now:
            times["closed"] = closes
    if "resolved" in times and kind == "mishap" and "restored" not in times:
        restores = times["resolved"] + timedelta(days=31)
        if restores < now:
            times["restored"] = restores
    return times


def status_of(kind: str, times: dict[str, datetime]) -> str:
    if kind == "question":
        for step in ("closed", "resolved", "acknowledged"):
            if step in times:
                return step
        return "new"
    for step, status in (
        ("restored", "restored"),
        ("resolved", "rebuilding"),
        ("committed", "committed"),
        ("apologized", "apologized"),
        ("acknowledged", "acknowledged"),
    ):
        if step in times:
            return status
    return "new"
