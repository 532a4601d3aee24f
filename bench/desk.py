"""The generated desk's tickets and every row that hangs off them, drawn
from one seeded random generator: what ``bench.generate`` writes with COPY.

Each ticket's life is decided first (``TicketPlan``: how far it got before
now, and when each step happened); its messages, history, promise, grant,
follow-ups and ratings follow from that plan, so they agree with its status.

The ``Desk`` draws each ticket's plan (``bench.plans``), its row, its
conversation and its history; the recovery rows that follow from a plan are
``bench.recovery_rows``'s.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from bench.corpus import (
    AGENT_SENTENCES,
    CITIES,
    CUSTOMER_SENTENCES,
    DAYS,
    NOTES,
    PRODUCTS,
    SUBJECTS,
)
from bench.plans import (
    CHANNELS,
    MISHAP_GOALS,
    QUESTION_GOALS,
    SEVERITIES,
    TARGETS,
    TicketPlan,
    lifecycle,
    status_of,
    weighted,
)
from bench.staff import Staff

# The ticket the detail workloads open: one long conversation.
LONG_SUBJECT = "Benchmark: the long conversation"


class Desk:
    """Draws tickets and their rows; holds what spans tickets (ids, spend counters)."""

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
        severity = weighted(rng, SEVERITIES)
        # Spread over two years; a little denser lately, as desks grow.
        age = timedelta(days=730) * (rng.random() ** 1.3)
        created = self.now - age - timedelta(minutes=5)
        goal = weighted(rng, MISHAP_GOALS if kind == "mishap" else QUESTION_GOALS)
        if long_conversation:
            kind, goal = "mishap", "committed"
            created = self.now - timedelta(days=20)
        times = lifecycle(self.rng, self.now, kind, severity, goal, created)
        status = status_of(kind, times)
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
            channel=weighted(rng, CHANNELS),
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

    # --- history --------------------------------------------------------------------

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
