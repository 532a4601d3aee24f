"""A step's form opens on the ticket page, under the customer's last
messages it answers (in place of the reply form), and its preview shows
there too."""

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import User
from tests.factories import TicketFactory, advance
from tickets.models import Kind
from tickets.services import message_receive

pytestmark = pytest.mark.django_db


def test_the_step_opens_under_the_conversation(agent: User, agent_console: Client) -> None:
    ticket = advance(TicketFactory(actor=agent, kind=Kind.MISHAP), "acknowledged")
    message_receive(ticket=ticket, body="The box was crushed and the mug broken.")

    response = agent_console.get(reverse("console:ticket_step", args=[ticket.pk, "apologize"]))

    page = response.content.decode()
    assert response.status_code == 200
    conversation = page.index('id="conversation"')
    said = page.index("The box was crushed and the mug broken.")
    form = page.index('id="step-form"')
    assert conversation < said < form
    assert 'id="reply-form"' not in page
    assert 'id="recovery"' in page  # the rest of the ticket page is there too


def test_the_preview_shows_beside_it(agent: User, agent_console: Client) -> None:
    ticket = advance(TicketFactory(actor=agent, kind=Kind.MISHAP), "acknowledged")

    response = agent_console.post(
        reverse("console:ticket_step", args=[ticket.pk, "apologize"]),
        {"message": "I am sorry about the mug.", "preview": "Preview"},
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert page.index('id="step-form"') < page.index('id="email-preview"')
    assert "I am sorry about the mug." in page
    ticket.refresh_from_db()
    assert ticket.status == "acknowledged"
