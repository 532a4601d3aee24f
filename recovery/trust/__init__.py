"""The customer's trust, explained: what their touchpoints say (figures,
in SQL), the level and reasons the rules draw from them, and where they
ride along (the ticket page, the queue, the customer page, the API).

    profile = trust_profile(customer_id)
    profile.level, profile.reasons, profile.figures.mishaps_90_days
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import DateTimeField, Exists, OuterRef, QuerySet, Value

from accounts.models import Customer
from core import clock
from core.compiled import CompiledFamily
from recovery.trust.figures import (
    PREFIX,
    QUARTER,
    YEAR,
    Figures,
    figure_annotations,
    figures_from_row,
)
from recovery.trust.rules import Level, assess, fragile_customers
from tickets.models import Ticket

__all__ = [
    "LOOK_BACK",
    "Level",
    "TrustProfile",
    "customer_trust_annotations",
    "is_fragile",
    "profile_of",
    "ticket_trust_annotations",
    "trust_profile",
    "trust_profiles",
    "with_trust",
]

AS_OF = f"{PREFIX}as_of"


@dataclass(frozen=True)
class TrustProfile:
    level: Level
    reasons: list[str]
    figures: Figures

    @property
    def label(self) -> str:
        return self.level.label

    @property
    def as_of(self) -> datetime:
        return self.figures.as_of

    @property
    def summary(self) -> str:
        """The level and its reasons in one line, as a badge's title says it."""
        return f"{self.label}: {'; '.join(self.reasons)}." if self.reasons else self.label

    def as_dict(self) -> dict[str, Any]:
        return {
            "level": self.level.value,
            "reasons": list(self.reasons),
            "figures": self.figures.as_dict(),
            "as_of": self.as_of.isoformat(),
        }


# How far back the figures look from their moment: a query compiled once
# that holds them swaps these moments too (``core.compiled``).
LOOK_BACK = (YEAR, QUARTER)

# The figures' dozen subqueries, built and compiled once a process: on
# every ticket page and queue page, Django built them afresh, most of the
# ORM's CPU for the page (docs/performance.md).
FIGURES = CompiledFamily(
    build=lambda customer, now: figure_annotations(customer, now=now), before=LOOK_BACK
)


def _annotations(column: str, now: datetime, excluding_ticket: int | None = None) -> dict[str, Any]:
    """The figures of the customer ``column`` names on the query's rows
    (``customer_id`` on tickets, ``pk`` on customers), and their moment."""
    figures = (
        FIGURES.annotations(column, now=now)
        if excluding_ticket is None
        else figure_annotations(OuterRef(column), now=now, excluding_ticket=excluding_ticket)
    )
    return {**figures, AS_OF: Value(now, output_field=DateTimeField())}


def profile_of(row: Any) -> TrustProfile:
    """The profile of a row annotated by ``with_trust`` (a ticket) or read by
    ``trust_profiles`` (a customer)."""
    figures = figures_from_row(row, now=getattr(row, AS_OF))
    judged = assess(figures)
    return TrustProfile(level=judged.level, reasons=judged.reasons, figures=figures)


def with_trust(tickets: QuerySet[Ticket], *, now: datetime | None = None) -> QuerySet[Ticket]:
    """Each ticket with its customer's figures, computed in the same query."""
    return tickets.annotate(**_annotations("customer_id", now or clock.now()))


def ticket_trust_annotations(*, now: datetime | None = None) -> dict[str, Any]:
    """What ``with_trust`` adds, for a ticket's detail (``recovery.selectors.with_recovery``)."""
    return _annotations("customer_id", now or clock.now())


def customer_trust_annotations() -> dict[str, Any]:
    """The figures on a query of customers, read with ``profile_of``."""
    return _annotations("pk", clock.now())


def trust_profiles(
    customer_ids: Iterable[int], *, now: datetime | None = None, excluding_ticket: int | None = None
) -> dict[int, TrustProfile]:
    """The profiles of these customers, in one query however many."""
    now = now or clock.now()
    rows = Customer.objects.filter(pk__in=set(customer_ids)).annotate(
        **_annotations("pk", now, excluding_ticket)
    )
    return {row.pk: profile_of(row) for row in rows.only("pk")}


def trust_profile(
    customer_id: int, *, now: datetime | None = None, excluding_ticket: int | None = None
) -> TrustProfile:
    """One customer's profile (one query). ``excluding_ticket``: as they
    stood before it. Raises ``Customer.DoesNotExist``."""
    found = trust_profiles([customer_id], now=now, excluding_ticket=excluding_ticket)
    if customer_id not in found:
        raise Customer.DoesNotExist(f"No customer {customer_id}.")
    return found[customer_id]


def is_fragile(customer: Any, *, now: datetime | None = None) -> Exists:
    """Whether the customer ``customer`` refers to (``OuterRef("customer_id")``
    on a ticket) is fragile, as a condition in the outer query."""
    one = Customer.objects.filter(pk=customer)
    return Exists(fragile_customers(one, now=now or clock.now()))
