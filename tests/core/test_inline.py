"""Related rows read in their parent's query (core.inline) are the same
instances a prefetch gives, read in one query."""

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.db.models import Model, Prefetch
from django.utils import timezone

from accounts.models import User
from core.inline import inline
from recovery.models import FollowUp, Restitution
from recovery.services import restitution_grant
from tests.factories import TicketFactory, advance
from tickets.models import Commitment, Kind, Status, Ticket, TicketEvent

pytestmark = pytest.mark.django_db


def _fields(instance: Model) -> dict[str, Any]:
    return {f.attname: getattr(instance, f.attname) for f in type(instance)._meta.concrete_fields}


@pytest.fixture
def ticket(agent: User) -> Ticket:
    ticket = advance(TicketFactory(actor=agent, kind=Kind.MISHAP), to=Status.COMMITTED)
    Commitment.objects.create(
        ticket=ticket,
        promise="A call on Monday.",
        due_at=timezone.now() + timedelta(days=3),
        made_by=agent,
        fulfilled_at=timezone.now(),
    )
    for amount in ("5.10", "0.05"):
        restitution_grant(
            ticket=ticket, actor=agent, kind="gift", amount=amount, currency="USD", reason="Sorry."
        )
    return ticket


RELATIONS = {
    "commitments": Commitment.objects.order_by("-created_at", "-id"),
    "restitutions": Restitution.objects.order_by("amount"),
    "events": TicketEvent.objects.order_by("created_at", "id"),  # JSON payloads
    "followups": FollowUp.objects.order_by("due_at"),  # none
}


def test_the_rows_are_the_instances_a_prefetch_gives_in_the_same_order(
    ticket: Ticket, django_assert_num_queries: Any
) -> None:
    prefetched = Ticket.objects.prefetch_related(
        *(Prefetch(name, queryset=rows) for name, rows in RELATIONS.items())
    ).get(pk=ticket.pk)

    with django_assert_num_queries(1):
        inlined = inline(Ticket.objects.all(), **RELATIONS).get(pk=ticket.pk)
        for name in RELATIONS:
            assert [_fields(row) for row in getattr(inlined, name).all()] == [
                _fields(row) for row in getattr(prefetched, name).all()
            ]
        # Each row knows its ticket without asking.
        assert inlined.commitments.all()[0].ticket is inlined

    amounts = [r.amount for r in inlined.restitutions.all()]
    assert amounts == [Decimal("0.05"), Decimal("5.10")]
    assert all(isinstance(a, Decimal) for a in amounts)
    assert len(inlined.commitments.all()) == 2
    assert inlined.commitments.all()[0].due_at.tzinfo is not None
    assert list(inlined.followups.all()) == []
    assert any(event.payload for event in inlined.events.all())


def test_narrowing_inlined_rows_asks_the_database_for_the_parents_own(
    ticket: Ticket, agent: User, django_assert_num_queries: Any
) -> None:
    other = advance(TicketFactory(actor=agent, kind=Kind.MISHAP), to=Status.COMMITTED)
    restitution_grant(
        ticket=other, actor=agent, kind="gift", amount="5.10", currency="USD", reason="Sorry."
    )
    inlined = inline(Ticket.objects.all(), **RELATIONS).get(pk=ticket.pk)

    with django_assert_num_queries(1):
        narrowed = list(inlined.restitutions.filter(amount=Decimal("5.10")))
    assert [r.ticket_id for r in narrowed] == [ticket.pk]
    assert narrowed[0].ticket is inlined
    assert inlined.restitutions.count() == 2
    assert not inlined.followups.exists()


def test_many_to_many_rows_and_several_parents(agent: User, supervisor: User) -> None:
    users = inline(
        User.objects.filter(pk__in=[agent.pk, supervisor.pk]).order_by("pk"),
        groups=Group.objects.order_by("name"),
    )

    assert [[g.name for g in user.groups.all()] for user in users] == [
        [g.name for g in user.groups.order_by("name")] for user in (agent, supervisor)
    ]


def test_only_reverse_foreign_keys_and_many_to_many_can_be_inlined() -> None:
    with pytest.raises(TypeError, match="neither"):
        inline(Ticket.objects.all(), customer=Ticket.objects.all())
