"""How much an agent may grant on one ticket right now, limit by limit: what
is left of the ticket's limit per incident, of the customer's limit this
period, and of the agent's own this period. The smallest is what they may
grant without asking; the others say why, before a grant goes to approval
rather than after.

The counters a grant charges (``counters_for``) are the ones the room is read
from, so the room shown is always what a grant would be held to."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.db.models import Q, QuerySet

from accounts.models import User
from core.compiled import CompiledQuery
from recovery.models import RestitutionKind
from recovery.models.authority import WHOLE_LIFE, Limit, Period, SpendCounter
from recovery.selectors import Policy, period_start, policy_for
from tickets.models import Ticket

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class LimitLeft:
    name: str  # the policy's field, as ``limits_exceeded`` names it
    words: str  # "this ticket", "Ana Lima this week", "you this week"
    limit: Decimal
    spent: Decimal

    @property
    def left(self) -> Decimal:
        return max(self.limit - self.spent, ZERO)


@dataclass(frozen=True)
class GrantRoom:
    policy: Policy
    limits: tuple[LimitLeft, ...]

    @property
    def up_to(self) -> Decimal:
        return min(limit.left for limit in self.limits)

    @property
    def kinds(self) -> list[tuple[str, str]]:
        """The kinds this person may grant, as (value, label), in the kinds' order."""
        allowed = set(self.policy.allowed_kinds)
        return [(value, str(label)) for value, label in RestitutionKind.choices if value in allowed]

    def limit(self, name: str) -> LimitLeft | None:
        return next((limit for limit in self.limits if limit.name == name), None)

    def why_above(self, names: list[str], amount: Decimal) -> str:
        """The limits a grant of ``amount`` went over, each with what was left
        of it and why: "more than is left of this ticket's limit (20.00 of
        50.00 USD: 30.00 USD already granted on it)"."""
        currency = self.policy.currency
        parts = []
        for name in names:
            limit = self.limit(name)
            if limit is None:
                continue
            already = (
                f"{limit.spent} {currency} already granted on it"
                if name == Limit.PER_INCIDENT
                else f"{limit.spent} {currency} already granted"
            )
            parts.append(
                f"what is left of the limit for {limit.words} "
                f"({limit.left} of {limit.limit} {currency}: {already})"
            )
        if not parts:
            return f"{amount} {currency} is above your authority"
        return f"{amount} {currency} is more than " + " and ".join(parts)


@dataclass(frozen=True)
class Counter:
    """A counter a grant adds to: its key, and the limit it is held to."""

    limit_name: str
    scope: str
    subject_id: int
    period: str
    period_start: date
    limit: Decimal | None  # None: counted, not limited by this grant's policy


def counters_for(*, payer: User, policy: Policy, ticket: Ticket) -> list[Counter]:
    """The counters a grant adds to, in the order they are always locked:
    ticket, customer, payer.

    The customer's spend is counted per day, week and month alike, so a grant
    counts against every later granter's per-customer limit whatever period
    their policy uses; only the payer's own period is checked here."""
    customer = [
        Counter(
            "per_customer_limit",
            SpendCounter.Scope.CUSTOMER,
            ticket.customer_id,
            period,
            period_start(period),
            policy.per_customer_limit if period == policy.period else None,
        )
        for period in Period.values
    ]
    return [
        Counter(
            "per_incident_limit",
            SpendCounter.Scope.TICKET,
            ticket.pk,
            "",
            WHOLE_LIFE,
            policy.per_incident_limit,
        ),
        *customer,
        Counter(
            "per_period_limit",
            SpendCounter.Scope.GRANTER,
            payer.pk,
            policy.period,
            period_start(policy.period),
            policy.per_period_limit,
        ),
    ]


def _spent(shape: tuple[tuple[str, str], ...], *, currency: str, **keys: Any) -> QuerySet[Any]:
    """What the counters of ``shape`` (scope and period each, their subject
    and start in ``keys``) hold in ``currency``."""
    any_key = Q()
    for index, (scope, period) in enumerate(shape):
        any_key |= Q(
            scope=scope,
            subject_id=keys[f"subject_{index}"],
            period=period,
            period_start=keys[f"start_{index}"],
        )
    return SpendCounter.objects.filter(any_key, currency=currency).values_list(
        "scope", "subject_id", "period", "spent", "pk"
    )


# Read on every ticket page of a mishap and by every grant: compiled once a
# process for each set of counters (core.compiled).
_SPENT = CompiledQuery(build=_spent)

CounterKey = tuple[str, int, str]  # scope, subject, period: one counter of a grant's


def counters_now(
    counters: list[Counter], *, currency: str
) -> dict[CounterKey, tuple[int, Decimal]]:
    """Those of ``counters`` that exist, by key: their id and what they hold
    now, as committed (no lock: a grant's charge is what holds the limits).
    One query."""
    if not counters:
        return {}
    keys: dict[str, int | str | date] = {"currency": currency}
    for index, counter in enumerate(counters):
        keys[f"subject_{index}"] = counter.subject_id
        keys[f"start_{index}"] = counter.period_start
    shape = tuple((counter.scope, counter.period) for counter in counters)
    return {
        (scope, subject_id, period): (pk, spent)
        for scope, subject_id, period, spent, pk in _SPENT.rows(shape, **keys)
    }


def grant_room(user: User, ticket: Ticket) -> GrantRoom:
    """Every limit a grant by ``user`` on ``ticket`` is held to (the counters
    ``counters_for`` gives a limit), with what is left of each now. One query
    for the counters (none are created)."""
    policy = policy_for(user)
    # The payer's own limits: the customer's other periods are counted, not held to.
    limited = [
        (counter, counter.limit)
        for counter in counters_for(payer=user, policy=policy, ticket=ticket)
        if counter.limit is not None
    ]
    now = counters_now([counter for counter, _ in limited], currency=policy.currency)
    every = Period(policy.period).label.lower()
    customer = ticket.customer.name or ticket.customer.email
    words: dict[str, str] = {
        Limit.PER_INCIDENT: "this ticket",
        Limit.PER_CUSTOMER: f"{customer} this {every}",
        Limit.PER_PERIOD: f"you this {every}",
    }
    return GrantRoom(
        policy=policy,
        limits=tuple(
            LimitLeft(
                counter.limit_name,
                words[counter.limit_name],
                limit,
                now.get((counter.scope, counter.subject_id, counter.period), (0, ZERO))[1],
            )
            for counter, limit in limited
        ),
    )
