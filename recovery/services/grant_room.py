"""How much an agent may grant on one ticket right now, limit by limit: what
is left of the ticket's limit per incident, of the customer's limit this
period, and of the agent's own this period. The smallest is what they may
grant without asking; the others say why, before a grant goes to approval
rather than after."""

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Q

from accounts.models import User
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


def grant_room(user: User, ticket: Ticket) -> GrantRoom:
    """Every limit a grant by ``user`` on ``ticket`` counts against, with
    what is left of each now. One query for the counters (none are created)."""
    policy = policy_for(user)
    start = period_start(policy.period)
    keys = {
        Limit.PER_INCIDENT: Q(
            scope=SpendCounter.Scope.TICKET,
            subject_id=ticket.pk,
            period="",
            period_start=WHOLE_LIFE,
        ),
        Limit.PER_CUSTOMER: Q(
            scope=SpendCounter.Scope.CUSTOMER,
            subject_id=ticket.customer_id,
            period=policy.period,
            period_start=start,
        ),
        Limit.PER_PERIOD: Q(
            scope=SpendCounter.Scope.GRANTER,
            subject_id=user.pk,
            period=policy.period,
            period_start=start,
        ),
    }
    any_key = Q()
    for key in keys.values():
        any_key |= key
    spent = dict(
        SpendCounter.objects.filter(any_key, currency=policy.currency).values_list("scope", "spent")
    )
    every = Period(policy.period).label.lower()
    customer = ticket.customer.name or ticket.customer.email
    return GrantRoom(
        policy=policy,
        limits=(
            LimitLeft(
                Limit.PER_INCIDENT,
                "this ticket",
                policy.per_incident_limit,
                spent.get(SpendCounter.Scope.TICKET, ZERO),
            ),
            LimitLeft(
                Limit.PER_CUSTOMER,
                f"{customer} this {every}",
                policy.per_customer_limit,
                spent.get(SpendCounter.Scope.CUSTOMER, ZERO),
            ),
            LimitLeft(
                Limit.PER_PERIOD,
                f"you this {every}",
                policy.per_period_limit,
                spent.get(SpendCounter.Scope.GRANTER, ZERO),
            ),
        ),
    )
