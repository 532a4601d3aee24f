"""Collision: the ticket page's heartbeat says who else is there (and
writing) and what others did since the page was drawn; a step submitted
from a page others changed says who did what, when, with their text."""

import html

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from accounts.models import User
from accounts.roles import Role
from tests.factories import QueueFactory, StaffFactory, TicketFactory
from tests.helpers import console_client
from tickets.models import Ticket
from tickets.services import ticket_acknowledge

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_one_there() -> None:
    cache.clear()


def pair() -> tuple[User, User, Ticket]:
    alex = StaffFactory(role=Role.AGENT, first_name="Alex", last_name="Moreau")
    jordan = StaffFactory(role=Role.AGENT, first_name="Jordan", last_name="Lee")
    queue = QueueFactory(members=[alex, jordan])
    return alex, jordan, TicketFactory(actor=None, queue=queue)


def beat(client: Client, ticket: Ticket, **data: str) -> dict:
    response = client.post(reverse("console:ticket_presence", args=[ticket.pk]), data)
    assert response.status_code == 200
    return response.json()


def test_the_heartbeat_names_the_others_and_who_is_writing() -> None:
    alex, jordan, ticket = pair()
    alex_client, jordan_client = console_client(alex), console_client(jordan)

    assert beat(alex_client, ticket)["others"] == []
    beat(jordan_client, ticket, writing="1")

    assert beat(alex_client, ticket)["others"] == [{"name": "Jordan Lee", "writing": True}]
    assert beat(jordan_client, ticket)["others"] == [{"name": "Alex Moreau", "writing": False}]


def test_the_heartbeat_says_what_others_did_since_the_page_was_drawn() -> None:
    alex, jordan, ticket = pair()
    page = console_client(alex).get(reverse("console:tickets_ticket_change", args=[ticket.pk]))
    since = page.context["latest_event"]
    ticket_acknowledge(ticket=ticket, actor=jordan, message="We have your message, Ana.")

    [change] = beat(console_client(alex), ticket, since=str(since))["changes"]

    assert change["said"] == "Jordan Lee acknowledged this just now"
    assert change["text"] == "We have your message, Ana."
    assert beat(console_client(jordan), ticket, since=str(since))["changes"] == []


def test_a_stale_step_says_who_did_it_when_and_what_they_wrote() -> None:
    alex, jordan, ticket = pair()
    alex_client = console_client(alex)
    url = reverse("console:ticket_step", args=[ticket.pk, "acknowledge"])
    seen = alex_client.get(url).context["latest_event"]
    ticket_acknowledge(ticket=ticket, actor=jordan, message="We have your message, Ana.")

    response = alex_client.post(url, {"message": "Got it!", "seen_event": seen})

    assert response.status_code == 400
    page = html.unescape(response.content.decode())
    assert (
        "Jordan Lee acknowledged this just now: “We have your message, Ana.”. "
        "Reload the ticket to see where it stands."
    ) in page
    assert "is not possible from acknowledged" not in page
    assert ticket.messages.filter(body="Got it!").count() == 0


def test_a_ticket_one_cannot_see_has_no_presence(agent: User, supervisor: User) -> None:
    hidden = TicketFactory(actor=supervisor)

    response = console_client(agent).post(reverse("console:ticket_presence", args=[hidden.pk]))

    assert response.status_code == 404


def test_presence_is_posted_not_read(agent: User) -> None:
    ticket = TicketFactory(actor=agent)

    response = console_client(agent).get(reverse("console:ticket_presence", args=[ticket.pk]))

    assert response.status_code == 405


def test_a_reply_landing_meanwhile_is_quoted_in_words_not_by_its_id() -> None:
    from tickets.services import message_create

    alex, jordan, ticket = pair()
    since = ticket.events.latest("id").pk
    message_create(ticket=ticket, actor=jordan, body="Your refund is on its way.", public=True)

    [change] = beat(console_client(alex), ticket, since=str(since))["changes"]

    assert change["said"] == "Jordan Lee replied to the customer just now"
    assert change["text"] == "Your refund is on its way."


@pytest.mark.parametrize("odd", ["²", "9" * 5000, "-1", ""])
def test_odd_event_numbers_are_ignored_not_a_500(odd: str) -> None:
    alex, _, ticket = pair()
    client = console_client(alex)

    assert beat(client, ticket, since=odd)["changes"] == []
    response = client.post(
        reverse("console:ticket_step", args=[ticket.pk, "acknowledge"]),
        {"message": "", "seen_event": odd},
    )
    assert response.status_code == 400
