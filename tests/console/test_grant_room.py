"""The authority panel names every limit a grant counts against (this
ticket, this customer this period, yours this period) with what is left,
offers only the kinds one may grant, and says which limit sent a grant to
approval; the approvals card shows what the ticket already has."""

import html
import re
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import User
from recovery.selectors.grant_room import grant_room
from recovery.services import restitution_grant
from tests.factories import TicketFactory
from tickets.models import Kind, Ticket

pytestmark = pytest.mark.django_db


def mishap(agent: User, **fields: object) -> Ticket:
    return TicketFactory(actor=agent, kind=Kind.MISHAP, customer_name="Ana Lima", **fields)


def gift(ticket: Ticket, agent: User, amount: str) -> object:
    return restitution_grant(
        ticket=ticket, actor=agent, kind="gift", amount=amount, currency="USD", reason="Sorry."
    )


def test_the_room_is_the_smallest_of_the_three_limits(agent: User) -> None:
    ticket = mishap(agent)
    other = mishap(agent, customer_email=ticket.customer.email)
    gift(ticket, agent, "30.00")
    gift(other, agent, "45.00")

    room = grant_room(agent, ticket)

    left = {limit.words: (limit.left, limit.limit, limit.spent) for limit in room.limits}
    assert left == {
        "this ticket": (Decimal("20.00"), Decimal("50.00"), Decimal("30.00")),
        "Ana Lima this week": (Decimal("25.00"), Decimal("100.00"), Decimal("75.00")),
        "you this week": (Decimal("125.00"), Decimal("200.00"), Decimal("75.00")),
    }
    assert room.up_to == Decimal("20.00")


def test_the_ticket_page_names_each_limit_and_only_the_kinds_one_may_grant(
    agent: User, agent_console: Client
) -> None:
    ticket = mishap(agent)
    gift(ticket, agent, "30.00")

    raw = agent_console.get(reverse("console:tickets_ticket_change", args=[ticket.pk]))
    page = html.unescape(raw.content.decode())
    text = re.sub(r"<[^>]+>", "", page)

    assert "You may grant up to 20.00 USD here without asking" in text
    assert "Left for this ticket: 20.00 of 50.00 USD (30.00 granted)" in text
    assert "Left for Ana Lima this week: 70.00 of 100.00 USD (30.00 granted)" in text
    assert "Left for you this week: 170.00 of 200.00 USD (30.00 granted)" in text
    kinds = page[page.index('name="kind"') : page.index("</select>", page.index('name="kind"'))]
    assert 'value="gift"' in kinds
    assert 'value="refund"' in kinds
    assert 'value="other"' not in kinds
    assert 'value="replacement"' not in kinds


def test_a_grant_sent_to_approval_says_which_limit_and_why(
    agent: User, agent_console: Client
) -> None:
    ticket = mishap(agent)
    gift(ticket, agent, "30.00")

    response = agent_console.post(
        reverse("console:ticket_restitution", args=[ticket.pk]),
        {"kind": "gift", "amount": "25.00", "currency": "USD", "reason": "Flowers."},
        follow=True,
    )

    page = html.unescape(response.content.decode())
    assert (
        "25.00 USD is more than what is left of the limit for this ticket "
        "(20.00 of 50.00 USD: 30.00 USD already granted on it). "
        "It waits for a supervisor's approval."
    ) in page


def test_a_kind_one_may_not_grant_is_not_offered_and_refused_if_sent(
    agent: User, agent_console: Client
) -> None:
    ticket = mishap(agent)

    response = agent_console.post(
        reverse("console:ticket_restitution", args=[ticket.pk]),
        {"kind": "other", "amount": "5.00", "currency": "USD", "reason": "Hm."},
    )

    assert response.status_code == 400
    assert "You may not grant other kinds of restitution." in response.content.decode()
    assert not ticket.restitutions.exists()


def test_the_approvals_card_shows_what_the_ticket_already_has(
    agent: User, supervisor_console: Client
) -> None:
    ticket = mishap(agent)
    gift(ticket, agent, "30.00")
    gift(ticket, agent, "45.00")  # above what is left: waits

    page = supervisor_console.get(reverse("console:approvals")).content.decode()

    card = page[page.index('class="granted-before"') :]
    assert card.startswith('class="granted-before">Gift 30.00 USD by ')
