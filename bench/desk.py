"""The generated desk's tickets and every row that hangs off them, drawn
from one seeded random generator: what ``bench.generate`` writes with COPY.

Each ticket's life is decided first (``TicketPlan``: how far it got before
now, and when each step happened); its messages, history, promise, grant,
follow-ups and ratings follow from that plan, so they agree with its status.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from accounts.models import User
from bench.corpus import (
    AGENT_SENTENCES,
    CITIES,
    CUSTOMER_SENTENCES,
    DAYS,
    NOTES,
    PRODUCTS,
    PROMISES,
    SUBJECTS,
)
from recovery.models.authority import WHOLE_LIFE
from recovery.services.authority import period_start
from tickets.models import Queue

# The ticket the detail workloads open: one long conversation.
LONG_SUBJECT = "Benchmark: the long conversation"

# How long each step takes, by severity: (acknowledge, apologize) targets of
# migration tickets/0002, which the generated delays sometimes miss on purpose.
TARGETS = {
    "critical": (timedelta(minutes=15), timedelta(hours=1)),
    "major": (timedelta(hours=1), timedelta(hours=4)),
    "minor": (timedelta(hours=4), timedelta(hours=24)),
}
FOLLOWUP_DAYS = (1, 7, 30)
CLOSE_AFTER = timedelta(days=7)  # a resolved question is closed after a quiet week

RESTITUTION_KINDS = ("refund", "credit", "gift", "discount", "fee_waiver")
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


@dataclass
class Staff:
    agents: list[User]
    supervisors: list[User]
    queues: list[Queue]
    members: dict[int, list[int]]  # queue id -> agent ids


def _weighted(rng: random.Random, choices: Sequence[tuple[str, int]]) -> str:
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


class Desk:
    """Draws tickets and their rows; holds what spans tickets (ids, counters)."""

    def __init__(
        self,
        *,
        rng: random.Random,
        now: datetime,
        staff: Staff,
        customer_ids: range,
        ids: dict[str, int],
        messages_per_ticket: int,
        currency: str,
        domain: str,
    ) -> None:
        self.rng = rng
        self.now = now
        self.staff = staff
        self.customer_ids = customer_ids
        self.ids = ids
        self.messages_per_ticket = messages_per_ticket
        self.currency = currency
        self.domain = domain
        # (scope, subject, period, period_start) -> [counter id, spent]
        self.counters: dict[tuple[str, int, str, date], list[Any]] = {}
        self.counter_id = ids["recovery_spendcounter"]

    def take(self, table: str) -> int:
        value = self.ids[table]
        self.ids[table] = value + 1
        return value

    # --- text -------------------------------------------------------------------

    def fill(self, template: str, plan: TicketPlan) -> str:
        rng = self.rng
        return template.format(
            product=plan.product,
            order=plan.order,
            city=rng.choice(CITIES),
            day=rng.choice(DAYS),
        )

    def body(self, pool: Sequence[str], plan: TicketPlan, *, greeting: str = "") -> str:
        # Mostly short, sometimes long: 1 to ~24 sentences, in paragraphs.
        rng = self.rng
        count = min(24, 1 + int(rng.expovariate(1 / 3.5)))
        sentences = [self.fill(rng.choice(pool), plan) for _ in range(count)]
        paragraphs = [" ".join(sentences[i : i + 4]) for i in range(0, count, 4)]
        text = "\n\n".join(paragraphs)
        return f"{greeting}\n\n{text}" if greeting else text

    # --- tickets ----------------------------------------------------------------

    def plan_ticket(self, *, long_conversation: int = 0) -> TicketPlan:
        rng = self.rng
        ticket_id = self.take("tickets_ticket")
        kind = "mishap" if rng.random() < 0.2 else "question"
        severity = _weighted(rng, SEVERITIES)
        # Spread over two years; a little denser lately, as desks grow.
        age = timedelta(days=730) * (rng.random() ** 1.3)
        created = self.now - age - timedelta(minutes=5)
        goal = _weighted(rng, MISHAP_GOALS if kind == "mishap" else QUESTION_GOALS)
        if long_conversation:
            kind, goal = "mishap", "committed"
            created = self.now - timedelta(days=20)
        times = self._lifecycle(kind, severity, goal, created)
        status = self._status(kind, times)
        queue = rng.choice(self.staff.queues)
        members = self.staff.members[queue.pk]
        assignee = rng.choice(members) if (status != "new" or rng.random() < 0.5) else None
        product = rng.choice(PRODUCTS)
        order = str(rng.randint(10000, 99999))
        subject = rng.choice(SUBJECTS).format(product=product, order=order)
        if long_conversation:
            subject = LONG_SUBJECT
        count = long_conversation or max(1, round(rng.triangular(1, 2 * self.messages_per_ticket)))
        return TicketPlan(
            id=ticket_id,
            kind=kind,
            severity=severity,
            channel=_weighted(rng, CHANNELS),
            status=status,
            customer_id=rng.choice(self.customer_ids),
            queue_id=queue.pk,
            assignee_id=assignee,
            subject=subject,
            product=product,
            order=order,
            created_at=created,
            times=times,
            messages=count,
        )

    def _lifecycle(
        self, kind: str, severity: str, goal: str, created: datetime
    ) -> dict[str, datetime]:
        """The step times up to ``goal``, cut where the next one would be in the future."""
        rng = self.rng
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
            if at >= self.now:
                break
            times[name] = at
        # A resolved question past its quiet week is closed by beat; a mishap
        # past its 30-day plan is restored: the clock decides, not the goal.
        if "resolved" in times and kind == "question" and "closed" not in times:
            closes = times["resolved"] + CLOSE_AFTER
            if closes < self.now:
                times["closed"] = closes
        if "resolved" in times and kind == "mishap" and "restored" not in times:
            restores = times["resolved"] + timedelta(days=31)
            if restores < self.now:
                times["restored"] = restores
        return times

    @staticmethod
    def _status(kind: str, times: dict[str, datetime]) -> str:
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

    def ticket_row(self, plan: TicketPlan) -> tuple[Any, ...]:
        t = plan.times
        ack_target, apology_target = TARGETS[plan.severity]
        ack_late = t.get("acknowledged", self.now) - plan.created_at > ack_target
        apology_late = plan.kind == "mishap" and (
            t.get("apologized", self.now) - plan.created_at > apology_target
        )
        our_part = (
            f"Our courier partner mishandled the {plan.product}, and we did not check it."
            if plan.kind == "mishap" and "acknowledged" in t
            else ""
        )
        return (
            plan.id,
            plan.subject,
            plan.kind,
            plan.severity,
            plan.channel,
            plan.status,
            plan.customer_id,
            plan.queue_id,
            plan.assignee_id,
            None if plan.channel == "email" else plan.assignee_id,
            our_part,
            plan.created_at,
            plan.updated_at,
            plan.created_at,
            t.get("acknowledged"),
            t.get("apologized"),
            t.get("committed"),
            t.get("resolved"),
            t.get("closed"),
            t.get("restored"),
            None,
            t.get("restored"),
            plan.created_at + ack_target if ack_late else None,
            plan.created_at + apology_target if apology_late else None,
            False,
            None,
        )

    # --- conversation -------------------------------------------------------------

    def messages(self, plan: TicketPlan) -> Iterator[tuple[Any, ...]]:
        """The customer's first words, the public step messages at their
        times, and replies and notes in between, in time order."""
        rng = self.rng
        agent = plan.assignee_id or rng.choice(self.staff.members[plan.queue_id])
        entries: list[tuple[datetime, str, str]] = [(plan.created_at, "customer", "")]
        for step, name in (
            ("acknowledged", "acknowledge"),
            ("apologized", "apologize"),
            ("resolved", "resolve"),
        ):
            if step in plan.times:
                entries.append((plan.times[step], "agent", name))
        end = plan.times.get("resolved") or plan.times.get("closed") or self.now
        span = (end - plan.created_at).total_seconds()
        for _ in range(max(0, plan.messages - len(entries))):
            at = plan.created_at + timedelta(seconds=rng.uniform(1, max(span, 2)))
            roll = rng.random()
            author = "customer" if roll < 0.45 else ("note" if roll < 0.6 else "agent")
            entries.append((at, author, ""))
        entries.sort(key=lambda e: e[0])
        customer = plan.customer_id
        for at, author, step in entries:
            pk = self.take("tickets_message")
            if author == "customer":
                body = self.body(CUSTOMER_SENTENCES, plan, greeting="Hello,")
                yield (
                    pk, plan.id, True, "customer", None, body, step, at,
                    f"<{pk}.{customer}@mail.customer.example>", "not_sent", 0, None,
                )  # fmt: skip
            elif author == "note":
                body = self.body(NOTES, plan)
                yield (
                    pk,
                    plan.id,
                    False,
                    "agent",
                    agent,
                    body,
                    step,
                    at,
                    None,
                    "not_sent",
                    0,
                    None,
                )
            else:
                body = self.body(AGENT_SENTENCES, plan, greeting="Hi,")
                yield (
                    pk, plan.id, True, "agent", agent, body, step, at,
                    f"<{pk}.HD-{plan.id:06d}@{self.domain}>", "sent", 1, at + timedelta(seconds=4),
                )  # fmt: skip

    # --- history and recovery -------------------------------------------------------

    def events(self, plan: TicketPlan) -> Iterator[tuple[Any, ...]]:
        actor = plan.assignee_id
        channel_actor = None if plan.channel == "email" else actor
        yield (
            self.take("tickets_ticketevent"), plan.id, channel_actor, "created", "", "new",
            f'{{"kind": "{plan.kind}", "severity": "{plan.severity}", '
            f'"channel": "{plan.channel}"}}',
            plan.created_at,
        )  # fmt: skip
        moves = (
            ("acknowledged", "acknowledge", "new", "acknowledged"),
            ("apologized", "apologize", "acknowledged", "apologized"),
            ("committed", "commit", "apologized", "committed"),
        )
        for step, action, source, target in moves:
            if step in plan.times:
                yield self._event(plan, actor, action, source, target, plan.times[step])
        if "resolved" in plan.times:
            source = "committed" if plan.kind == "mishap" else "acknowledged"
            target = "rebuilding" if plan.kind == "mishap" else "resolved"
            yield self._event(plan, actor, "resolve", source, target, plan.times["resolved"])
        if "closed" in plan.times:
            yield self._event(plan, None, "close", "resolved", "closed", plan.times["closed"])
        if "restored" in plan.times:
            yield self._event(
                plan, None, "restore", "rebuilding", "restored", plan.times["restored"]
            )

    def _event(
        self, plan: TicketPlan, actor: int | None, action: str, source: str, target: str, at: Any
    ) -> tuple[Any, ...]:
        return (self.take("tickets_ticketevent"), plan.id, actor, action, source, target, "{}", at)

    def commitment(self, plan: TicketPlan) -> tuple[Any, ...] | None:
        committed = plan.times.get("committed")
        if committed is None:
            return None
        due = committed + timedelta(days=self.rng.uniform(1, 5))
        resolved = plan.times.get("resolved")
        if resolved is not None and resolved > due and self.rng.random() < 0.85:
            due = resolved + timedelta(hours=self.rng.uniform(1, 24))  # mostly kept in time
        promise = self.fill(self.rng.choice(PROMISES), plan)
        note = "Done as promised." if resolved else ""
        return (
            self.take("tickets_commitment"), plan.id, promise, due, "", plan.assignee_id,
            committed, resolved, note,
        )  # fmt: skip

    def restitution(
        self, plan: TicketPlan, limits: dict[str, Decimal]
    ) -> tuple[tuple[Any, ...], list[tuple[Any, ...]]] | None:
        """About six in ten committed mishaps get a grant within the agent's
        authority (the rows ``restitution_grant`` writes), and a few are voided.
        Skipped where a grant would break a limit the service enforces."""
        rng = self.rng
        committed = plan.times.get("committed")
        agent = plan.assignee_id
        if committed is None or agent is None or rng.random() > 0.6:
            return None
        amount = Decimal(rng.randint(5, 50))
        at = committed + timedelta(minutes=rng.uniform(1, 30))
        keys = [("ticket", plan.id, "", WHOLE_LIFE)]
        keys += [("customer", plan.customer_id, p, period_start(p, at)) for p in PERIODS]
        keys.append(("granter", agent, "week", period_start("week", at)))
        caps = {
            "ticket": limits["per_incident_limit"],
            "customer": limits["per_customer_limit"],
            "granter": limits["per_period_limit"],
        }
        for key in keys:
            spent = self.counters.get(key, [0, Decimal(0)])[1]
            checked = key[0] != "customer" or key[2] == "week"
            if checked and spent + amount > caps[key[0]]:
                return None
        voided = rng.random() < 0.05
        counter_ids = []
        for key in keys:
            counter = self.counters.get(key)
            if counter is None:
                counter = self.counters[key] = [self.counter_id, Decimal(0)]
                self.counter_id += 1
            if not voided:
                counter[1] += amount
            counter_ids.append(counter[0])
        pk = self.take("recovery_restitution")
        kind = rng.choice(RESTITUTION_KINDS)
        loss = amount * Decimal(rng.choice(("1", "1.2", "0.8"))) if rng.random() < 0.5 else None
        row = (
            pk, plan.id, plan.customer_id, agent, kind, amount, self.currency,
            "For the trouble with the " + plan.product, loss,
            "voided" if voided else "granted", agent, str(counter_ids), at,
            at + timedelta(hours=2) if voided else None, agent if voided else None,
            "Granted on the wrong ticket." if voided else "",
        )  # fmt: skip
        ledger = [
            (self.take("recovery_spendentry"), agent, pk, plan.id, plan.customer_id, amount,
             self.currency, at),
        ]  # fmt: skip
        if voided:
            ledger.append(
                (self.take("recovery_spendentry"), agent, pk, plan.id, plan.customer_id, -amount,
                 self.currency, at + timedelta(hours=2)),
            )  # fmt: skip
        return row, ledger

    def followups(self, plan: TicketPlan) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        """Day 1, 7 and 30 after resolution: sent when due in the past (none
        is left due and unsent, or beat would send it), scheduled when ahead;
        about four in ten sent ones are rated."""
        resolved = plan.times.get("resolved")
        if plan.kind != "mishap" or resolved is None:
            return [], []
        rng = self.rng
        rows, ratings = [], []
        for number, days in enumerate(FOLLOWUP_DAYS, start=1):
            due = resolved + timedelta(days=days)
            pk = self.take("recovery_followup")
            if due < self.now:
                sent = min(due + timedelta(minutes=rng.uniform(1, 90)), self.now)
                rows.append(self._followup(pk, plan, number, days, due, "sent", sent))
                if rng.random() < 0.4:
                    rating = rng.choices((1, 2, 3, 4, 5), weights=(4, 6, 15, 35, 40))[0]
                    comment = "" if rng.random() < 0.7 else "Thanks for sorting it out."
                    rated = sent + timedelta(hours=rng.uniform(1, 48))
                    ratings.append(
                        (self.take("recovery_feedback"), plan.id, plan.customer_id, pk, rating,
                         comment, min(rated, self.now))
                    )  # fmt: skip
            else:
                rows.append(self._followup(pk, plan, number, days, due, "scheduled", None))
        return rows, ratings

    def _followup(
        self,
        pk: int,
        plan: TicketPlan,
        number: int,
        days: int,
        due: datetime,
        status: str,
        sent: datetime | None,
    ) -> tuple[Any, ...]:
        return (
            pk, plan.id, plan.customer_id, number, days,
            f"How are things with your {plan.product}?",
            "Hello {{ customer.name }}, we wanted to check everything is right now.",
            due, status, 1 if sent else 0, sent, sent, plan.times["resolved"],
        )  # fmt: skip

    def question_rating(self, plan: TicketPlan) -> tuple[Any, ...] | None:
        """Some customers rate an answered question too: the paradox index
        compares recovered customers with those who never had a mishap."""
        closed = plan.times.get("closed")
        if plan.kind != "question" or closed is None or self.rng.random() > 0.1:
            return None
        rating = self.rng.choices((1, 2, 3, 4, 5), weights=(3, 5, 17, 40, 35))[0]
        return (self.take("recovery_feedback"), plan.id, plan.customer_id, None, rating, "", closed)


PERIODS = ("day", "week", "month")
