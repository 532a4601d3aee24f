"""The recovery panel tells the truth after a reopen (the current round's
steps, the earlier round folded with how it ended) and the history speaks
in plain words."""

import html

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import User
from accounts.roles import Role
from recovery.services import restitution_grant
from tests.factories import QueueFactory, StaffFactory, TicketFactory, advance
from tickets.models import Kind, Ticket
from tickets.services import message_receive, ticket_update

pytestmark = pytest.mark.django_db


def page_of(client: Client, ticket: Ticket) -> str:
    response = client.get(reverse("console:tickets_ticket_change", args=[ticket.pk]))
    assert response.status_code == 200
    return html.unescape(response.content.decode())


def section(page: str, element_id: str) -> str:
    start = page.index(f'id="{element_id}"')
    return page[start : page.index("</section>", start)]


def test_after_a_reopen_the_panel_asks_for_this_rounds_steps_and_folds_the_last(
    agent: User, agent_console: Client
) -> None:
    agent.first_name = "Alex"
    agent.save()
    ticket = advance(TicketFactory(actor=agent, kind=Kind.MISHAP), "rebuilding")
    message_receive(ticket=ticket, body="The replacement broke too.")

    panel = section(page_of(agent_console, ticket), "recovery")

    current = panel[: panel.index('class="earlier-round"')]
    assert '<li class="">Apologized' in current
    assert '<li class="">Committed' in current
    assert "Promise:" not in current  # the earlier promise is not this round's
    assert "Round 2: the steps again since the reopen." in current
    earlier = panel[panel.index('class="earlier-round"') :]
    assert (
        "Round 1: Acknowledged, Apologized, Promise made, Resolved, then reopened by the "
        "customer, who wrote: “The replacement broke too.”"
    ) in earlier
    assert "A replacement ships today." in earlier


def test_the_history_speaks_in_plain_words(agent: User, agent_console: Client) -> None:
    agent.first_name, agent.last_name = "Alex", "Moreau"
    agent.save()
    sam = StaffFactory(role=Role.AGENT, first_name="Sam", last_name="Ito")
    queue = QueueFactory(name="Returns", members=[agent, sam])
    ticket = advance(TicketFactory(actor=agent, kind=Kind.MISHAP, queue=queue), "committed")
    restitution_grant(
        ticket=ticket, actor=agent, kind="gift", amount="25.00", currency="USD", reason="Sorry."
    )
    ticket_update(ticket=ticket, actor=agent, assignee=sam)

    history = section(page_of(console_client_for(sam), ticket), "history")

    assert "Opened as a mishap (minor), by Alex Moreau" in history
    assert "Acknowledged, by Alex Moreau" in history
    assert "Restitution granted: gift 25.00 USD, by Alex Moreau" in history
    assert "Assigned to Sam Ito, by Alex Moreau" in history
    assert "restitution_granted" not in history
    assert "followups_" not in history


def console_client_for(user: User) -> Client:
    from tests.helpers import console_client

    return console_client(user)
