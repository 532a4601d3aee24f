"""The recovery rows that follow from a ticket's plan: the promise of a
committed mishap, a grant within the agent's authority with its ledger lines
and spend counters, the follow-ups after resolution and the ratings they
drew, and the occasional rating of an answered question."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from bench.corpus import (
    PROMISES,
)
from bench.desk import Desk
from bench.plans import TicketPlan
from recovery.models.authority import WHOLE_LIFE
from recovery.selectors import period_start

FOLLOWUP_DAYS = (1, 7, 30)
RESTITUTION_KINDS = ("refund", "credit", "gift", "discount", "fee_waiver")
PERIODS = ("day", "week", "month")


def commitment_row(desk: Desk, plan: TicketPlan) -> tuple[Any, ...] | None:
    committed = plan.times.get("committed")
    if committed is None:
        return None
    due = committed + timedelta(days=desk.rng.uniform(1, 5))
    resolved = plan.times.get("resolved")
    if resolved is not None and resolved > due and desk.rng.random() < 0.85:
        due = resolved + timedelta(hours=desk.rng.uniform(1, 24))  # mostly kept in time
    promise = desk.fill(desk.rng.choice(PROMISES), plan)
    note = "Done as promised." if resolved else ""
    return (
        desk.take("tickets_commitment"), plan.id, promise, due, "", plan.assignee_id,
        committed, resolved, note,
    )  # fmt: skip


def restitution_rows(
    desk: Desk, plan: TicketPlan, limits: dict[str, Decimal]
) -> tuple[tuple[Any, ...], list[tuple[Any, ...]]] | None:
    """About six in ten committed mishaps get a grant within the agent's
    authority (the rows ``restitution_grant`` writes), and a few are voided.
    Skipped where a grant would break a limit the service enforces."""
    rng = desk.rng
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
        spent = desk.counters.get(key, [0, Decimal(0)])[1]
        checked = key[0] != "customer" or key[2] == "week"
        if checked and spent + amount > caps[key[0]]:
            return None
    voided = rng.random() < 0.05
    counter_ids = []
    for key in keys:
        counter = desk.counters.get(key)
        if counter is None:
            counter = desk.counters[key] = [desk.counter_id, Decimal(0)]
            desk.counter_id += 1
        if not voided:
            counter[1] += amount
        counter_ids.append(counter[0])
    pk = desk.take("recovery_restitution")
    kind = rng.choice(RESTITUTION_KINDS)
    loss = amount * Decimal(rng.choice(("1", "1.2", "0.8"))) if rng.random() < 0.5 else None
    row = (
        pk, plan.id, plan.customer_id, agent, kind, amount, desk.currency,
        "For the trouble with the " + plan.product, loss,
        "voided" if voided else "granted", agent, str(counter_ids), at,
        at + timedelta(hours=2) if voided else None, agent if voided else None,
        "Granted on the wrong ticket." if voided else "",
    )  # fmt: skip
    ledger = [
        (desk.take("recovery_spendentry"), agent, pk, plan.id, plan.customer_id, amount,
         desk.currency, at),
    ]  # fmt: skip
    if voided:
        ledger.append(
            (desk.take("recovery_spendentry"), agent, pk, plan.id, plan.customer_id, -amount,
             desk.currency, at + timedelta(hours=2)),
        )  # fmt: skip
    return row, ledger


def followup_rows(
    desk: Desk, plan: TicketPlan
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Day 1, 7 and 30 after resolution: sent when due in the past (none
    is left due and unsent, or beat would send it), scheduled when ahead;
    about four in ten sent ones are rated."""
    resolved = plan.times.get("resolved")
    if plan.kind != "mishap" or resolved is None:
        return [], []
    rng = desk.rng
    rows, ratings = [], []
    for number, days in enumerate(FOLLOWUP_DAYS, start=1):
        due = resolved + timedelta(days=days)
        pk = desk.take("recovery_followup")
        if due < desk.now:
            sent = min(due + timedelta(minutes=rng.uniform(1, 90)), desk.now)
            rows.append(_followup(pk, plan, number, days, due, "sent", sent))
            if rng.random() < 0.4:
                rating = rng.choices((1, 2, 3, 4, 5), weights=(4, 6, 15, 35, 40))[0]
                comment = "" if rng.random() < 0.7 else "Thanks for sorting it out."
                rated = sent + timedelta(hours=rng.uniform(1, 48))
                ratings.append(
                    (desk.take("recovery_feedback"), plan.id, plan.customer_id, pk, rating,
                     comment, min(rated, desk.now))
                )  # fmt: skip
        else:
            rows.append(_followup(pk, plan, number, days, due, "scheduled", None))
    return rows, ratings


def _followup(
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


def question_rating_row(desk: Desk, plan: TicketPlan) -> tuple[Any, ...] | None:
    """Some customers rate an answered question too: the paradox index
    compares recovered customers with those who never had a mishap."""
    closed = plan.times.get("closed")
    if plan.kind != "question" or closed is None or desk.rng.random() > 0.1:
        return None
    rating = desk.rng.choices((1, 2, 3, 4, 5), weights=(3, 5, 17, 40, 35))[0]
    return (desk.take("recovery_feedback"), plan.id, plan.customer_id, None, rating, "", closed)
