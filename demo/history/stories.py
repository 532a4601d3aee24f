"""Deciding the history up front: who writes in, when, about what, and how
each ticket's life goes. Every random draw happens here, in creation order,
so the same seed gives the same history whatever happens when it is lived."""

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import TypeVar

from django.utils import timezone

from accounts.models import User
from demo.history.customers import HISTORY_CUSTOMERS
from demo.history.texts import COMMENTS, MISHAPS, QUESTIONS, REJECTIONS, Mishap, Question
from tickets.models import Severity, Ticket
from tickets.selectors import Target

T = TypeVar("T")

HISTORY_DAYS = 90
TICKETS_PER_WEEKDAY = (1, 2, 2, 3, 3)
TICKETS_PER_WEEKEND_DAY = (1, 1, 2)
MISHAP_SHARE = 0.18
REPEAT_SHARE = 0.12
QUESTION_CHANNELS = (("email", 40), ("web", 20), ("chat", 25), ("phone", 10), ("social", 5))
MISHAP_CHANNELS = (("email", 35), ("phone", 30), ("chat", 15), ("social", 10), ("web", 10))
SEVERITIES = ((Severity.MINOR, 45), (Severity.MAJOR, 40), (Severity.CRITICAL, 15))
GRANT_RATES = {Severity.MINOR: 0.4, Severity.MAJOR: 0.65, Severity.CRITICAL: 0.9}
AGENT_KINDS = (("refund", 30), ("credit", 25), ("gift", 15), ("discount", 15), ("fee_waiver", 15))
# Of the named demo customers, only these had mishaps before: their current
# ones then show as repeat failures.
NAMED_WITH_PAST_MISHAPS = ("lena.fischer@example.com", "tom.becker@example.com")

# Ratings come from decks (each rating as many times as its weight) rather
# than independent draws, so that over a month's few dozen answers the
# averages still come out as intended. Recovered customers rate slightly
# above those who never had a problem (the recovery paradox), unless the
# promise came late or it was their second failure.
RATINGS = {
    "never_failed": {2: 1, 3: 2, 4: 5, 5: 2},  # 3.8
    "loyal": {3: 1, 4: 5, 5: 4},  # 4.3: the questions of a customer who had a mishap
    "recovered": {3: 1, 4: 3, 5: 6},  # 4.5
    "late": {2: 1, 3: 2, 4: 4, 5: 3},  # 3.9: the promise was kept late
    "repeat": {1: 2, 2: 3, 3: 3, 4: 2},  # 2.5: a second failure
}
# How many answer each follow-up: the question's one, and a mishap's day 1, 7 and 30.
QUESTION_ANSWER_RATE = 0.4
MISHAP_ANSWER_RATES = (0.55, 0.4, 0.35)


@dataclass(frozen=True)
class Answer:
    after: timedelta
    rating: int
    comment: str


@dataclass(frozen=True)
class Grant:
    kind: str
    amount: Decimal
    loss: Decimal | None
    after: timedelta  # after the commitment
    decide_after: timedelta  # when above the agent's authority
    approve: bool
    rejection: str


@dataclass
class Story:
    """One ticket's life, decided up front; ``ticket`` is set once it exists."""

    created: datetime
    topic: Question | Mishap
    severity: Severity
    channel: str
    customer: tuple[str, str]
    agent: User
    ack_after: timedelta
    check_targets_at: list[datetime] = field(default_factory=list)
    deck: str = "never_failed"  # where its ratings come from (``RATINGS``)
    answers: list[Answer | None] = field(default_factory=list)
    unsubscribe_after_step: int | None = None
    # A question's.
    resolve_after: timedelta = timedelta(0)
    agent_closes: bool = False
    # A mishap's. No apology: the ticket stays acknowledged, the desk's loose end.
    apologize_after: timedelta | None = None
    commit_after: timedelta = timedelta(0)
    due_in: timedelta = timedelta(0)
    late_by: timedelta | None = None
    early_by: timedelta = timedelta(0)
    grant: Grant | None = None
    replacement: Decimal | None = None
    # What happened.
    ticket: Ticket | None = None
    awaiting_decision: bool = False
    resolve_when_decided: bool = False

    @property
    def is_mishap(self) -> bool:
        return isinstance(self.topic, Mishap)

    @property
    def first_name(self) -> str:
        return self.customer[0].split()[0]


def _minutes(rng: random.Random, *ranges: tuple[float, int, int]) -> timedelta:
    """A duration from one of the ``(share, low, high)`` ranges of minutes."""
    _, low, high = rng.choices(ranges, weights=[share for share, _, _ in ranges])[0]
    return timedelta(minutes=rng.randint(low, high))


def _weighted(rng: random.Random, options: tuple[tuple[T, int], ...]) -> T:
    return rng.choices([o for o, _ in options], weights=[w for _, w in options])[0]


class _Deck:
    def __init__(self, rng: random.Random, weights: dict[int, int]) -> None:
        self._rng = rng
        self._cards = [rating for rating, count in weights.items() for _ in range(count)]
        self._pile: list[int] = []

    def draw(self) -> int:
        if not self._pile:
            self._pile = self._cards[:]
            self._rng.shuffle(self._pile)
        return self._pile.pop()


class Storyteller:
    def __init__(
        self,
        *,
        rng: random.Random,
        until: datetime,
        agents: list[User],
        named_customers: Sequence[tuple[str, str]],
        targets: dict[str, Target],
    ) -> None:
        self.rng = rng
        self.until = until
        self.agents = agents
        self.targets = targets
        self.decks = {name: _Deck(rng, weights) for name, weights in RATINGS.items()}
        # Every named customer has a current mishap (``demo.tickets``).
        self.named = list(named_customers)
        self.everyone = [*self.named, *((name, email) for name, email, *_ in HISTORY_CUSTOMERS)]
        self.first_failures = [
            c for c in self.everyone if c not in self.named or c[1] in NAMED_WITH_PAST_MISHAPS
        ]
        rng.shuffle(self.first_failures)
        self.last_failed: dict[tuple[str, str], datetime] = {}

    def stories(self) -> list[Story]:
        """A few tickets on every day of the last ``HISTORY_DAYS``, in the
        desk's opening hours; fewer at weekends."""
        zone = timezone.get_default_timezone()
        today = timezone.localdate(self.until, zone)
        stories = []
        for days_ago in range(HISTORY_DAYS, 0, -1):
            day = today - timedelta(days=days_ago)
            counts = TICKETS_PER_WEEKDAY if day.weekday() < 5 else TICKETS_PER_WEEKEND_DAY
            opening = datetime.combine(day, time(8), tzinfo=zone)
            arrivals = sorted(
                self.rng.randint(0, 11 * 60 + 30) for _ in range(self.rng.choice(counts))
            )
            for minute in arrivals:
                created = opening + timedelta(minutes=minute)
                mishap = self.rng.random() < MISHAP_SHARE
                stories.append(self._mishap(created) if mishap else self._question(created))
        # Who answers and how, once it is known who ever had a mishap: the
        # dashboard counts a customer's every rating as "recovered" then.
        failed = {*self.last_failed, *self.named}
        for story in stories:
            if story.is_mishap:
                story.answers = [self._answer(rate, story.deck) for rate in MISHAP_ANSWER_RATES]
            else:
                story.deck = "loyal" if story.customer in failed else "never_failed"
                story.answers = [self._answer(QUESTION_ANSWER_RATE, story.deck)]
        return stories

    def _answer(self, rate: float, deck: str) -> Answer | None:
        if self.rng.random() >= rate:
            return None
        rating = self.decks[deck].draw()
        comment = self.rng.choice(COMMENTS[rating]) if self.rng.random() < 0.4 else ""
        return Answer(timedelta(minutes=self.rng.randint(20, 2 * 24 * 60)), rating, comment)

    def _question(self, created: datetime) -> Story:
        rng = self.rng
        target = self.targets[Severity.MINOR]
        story = Story(
            created=created,
            topic=rng.choice(QUESTIONS),
            severity=Severity.MINOR,
            channel=_weighted(rng, QUESTION_CHANNELS),
            customer=rng.choice(self.everyone),
            agent=rng.choice(self.agents),
            ack_after=_minutes(rng, (0.45, 5, 45), (0.35, 45, 180), (0.2, 180, 600)),
            resolve_after=_minutes(rng, (0.6, 10, 120), (0.3, 120, 1440), (0.1, 1440, 2880)),
            agent_closes=rng.random() < 0.45,
            unsubscribe_after_step=1 if rng.random() < 0.01 else None,
        )
        if story.ack_after > target.acknowledge_within:
            story.check_targets_at.append(created + target.acknowledge_within)
        return story

    def _mishap_customer(self, created: datetime) -> tuple[tuple[str, str], bool]:
        """Mostly a customer's first mishap; now and then a second one."""
        earlier = [c for c, at in self.last_failed.items() if at < created - timedelta(days=4)]
        if earlier and (self.rng.random() < REPEAT_SHARE or not self.first_failures):
            return self.rng.choice(earlier), True
        if not self.first_failures:
            return self.rng.choice(self.everyone), False
        return self.first_failures.pop(), False

    def _mishap(self, created: datetime) -> Story:
        rng = self.rng
        severity = _weighted(rng, SEVERITIES)
        customer, repeat = self._mishap_customer(created)
        self.last_failed[customer] = created
        if severity == Severity.CRITICAL:  # acknowledged within minutes, mostly
            ack_after = _minutes(rng, (0.85, 3, 14), (0.15, 16, 90))
            apologize_after: timedelta | None = _minutes(rng, (1.0, 5, 40))
            due_in = _minutes(rng, (1.0, 3 * 60, 12 * 60))
        elif severity == Severity.MAJOR:
            ack_after = _minutes(rng, (0.7, 10, 55), (0.3, 65, 180))
            apologize_after = _minutes(rng, (0.85, 10, 150), (0.15, 200, 360))
            due_in = _minutes(rng, (1.0, 8 * 60, 48 * 60))
        else:
            ack_after = _minutes(rng, (0.8, 15, 180), (0.2, 250, 480))
            apologize_after = _minutes(rng, (0.9, 20, 600), (0.1, 1500, 2000))
            due_in = _minutes(rng, (1.0, 24 * 60, 72 * 60))
        if severity != Severity.CRITICAL and rng.random() < 0.05:
            apologize_after = None
        late = rng.random() < 0.15
        story = Story(
            created=created,
            topic=rng.choice(MISHAPS),
            severity=severity,
            channel=_weighted(rng, MISHAP_CHANNELS),
            customer=customer,
            agent=rng.choice(self.agents),
            ack_after=ack_after,
            apologize_after=apologize_after,
            commit_after=_minutes(rng, (1.0, 5, 45)),
            due_in=due_in,
            late_by=_minutes(rng, (1.0, 120, 36 * 60)) if late else None,
            early_by=due_in * rng.uniform(0.1, 0.7),
        )
        if rng.random() < GRANT_RATES[severity]:
            story.grant = self._grant()
        if severity == Severity.CRITICAL and rng.random() < 0.35:
            story.replacement = Decimal(rng.randrange(40, 125, 5))
        story.deck = "repeat" if repeat else "late" if late else "recovered"
        if rng.random() < 0.04:
            story.unsubscribe_after_step = rng.choice((1, 2))
        target = self.targets[severity]
        if ack_after > target.acknowledge_within:
            story.check_targets_at.append(created + target.acknowledge_within)
        if apologize_after is None or ack_after + apologize_after > target.apologize_within:
            story.check_targets_at.append(created + target.apologize_within)
        return story

    def _grant(self) -> Grant:
        """Mostly within an agent's authority; a third above it, for the supervisor."""
        rng = self.rng
        above = rng.random() < 0.33
        amount = Decimal(rng.randrange(60, 185, 5) if above else rng.randrange(10, 50, 5))
        loss = amount * Decimal(rng.choice(("0.8", "1", "1.25")))
        return Grant(
            kind=_weighted(rng, AGENT_KINDS),
            amount=amount,
            loss=loss.quantize(Decimal("0.01")) if rng.random() < 0.6 else None,
            after=_minutes(rng, (1.0, 5, 40)),
            decide_after=_minutes(rng, (0.7, 30, 180), (0.3, 180, 420)),
            approve=rng.random() < 0.75,
            rejection=rng.choice(REJECTIONS),
        )
