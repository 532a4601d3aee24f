"""The console's small truths: a known customer's email is enough for a new
ticket (their name is filled in), a ticket you open is yours unless you
assign it, and the desk has an icon."""

from typing import TYPE_CHECKING

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import User
from tests.factories import CustomerFactory
from tests.helpers import client_for
from tickets.models import Ticket

if TYPE_CHECKING:
    from django.test.client import _MonkeyPatchedWSGIResponse

pytestmark = pytest.mark.django_db

ADD = reverse("console:tickets_ticket_add")


def new_ticket(client: Client, **fields: object) -> "_MonkeyPatchedWSGIResponse":
    data = {
        "subject": "Still no parcel",
        "body": "Called again today.",
        "kind": "question",
        "severity": "minor",
        "channel": "phone",
        "customer_email": "ana@example.com",
        "customer_name": "",
        "queue": "",
        **fields,
    }
    return client.post(ADD, data)


def test_a_known_customers_email_is_enough(supervisor: User, supervisor_console: Client) -> None:
    known = CustomerFactory(email="ana@example.com", name="Ana Lima")

    response = new_ticket(supervisor_console, assignee=supervisor.pk)

    assert response.status_code == 302
    ticket = Ticket.objects.get()
    assert ticket.customer == known
    assert ticket.customer.name == "Ana Lima"


def test_a_new_customer_still_needs_a_name(supervisor_console: Client) -> None:
    response = new_ticket(supervisor_console, customer_email="new@example.com")

    assert response.status_code == 400
    assert "A name is required for a new customer." in response.content.decode()
    assert not Ticket.objects.exists()


def test_the_api_takes_a_known_customer_without_a_name(agent: User) -> None:
    CustomerFactory(email="ana@example.com", name="Ana Lima")
    body = {"subject": "Hi", "body": "Hello.", "customer_email": "ana@example.com"}

    response = client_for(agent).post("/api/v1/tickets/", body, format="json")

    assert response.status_code == 201, response.content
    assert Ticket.objects.get().customer.name == "Ana Lima"


def test_a_ticket_a_supervisor_opens_is_theirs_unless_they_assign_it(
    supervisor: User, supervisor_console: Client
) -> None:
    form = supervisor_console.get(ADD).content.decode()
    assert f'<option value="{supervisor.pk}" selected>' in form

    new_ticket(supervisor_console, customer_name="Ana", assignee=supervisor.pk)
    new_ticket(supervisor_console, customer_name="Ana", subject="Left for the queue", assignee="")

    mine, nobodys = Ticket.objects.order_by("id")
    assert mine.assignee == supervisor
    assert nobodys.assignee is None


def test_the_lookup_names_a_known_customer(agent_console: Client) -> None:
    CustomerFactory(email="ana@example.com", name="Ana Lima")
    url = reverse("console:customer_lookup")

    assert agent_console.get(url, {"email": "ANA@example.com"}).json() == {
        "known": True,
        "name": "Ana Lima",
    }
    assert agent_console.get(url, {"email": "who@example.com"}).json() == {"known": False}


def test_the_desk_has_an_icon(agent_console: Client) -> None:
    page = agent_console.get(reverse("console:tickets_ticket_changelist")).content.decode()
    response = Client().get("/favicon.ico")

    assert 'rel="icon" href="/static/console/favicon.svg"' in page
    assert response.status_code == 301
    assert response["Location"].endswith("/console/favicon.svg")


def test_every_moment_on_the_ticket_page_is_written_one_way(
    agent: User, agent_console: Client
) -> None:
    import re

    from tests.factories import TicketFactory, advance
    from tickets.models import Kind
    from tickets.services import message_create

    ticket = advance(TicketFactory(actor=agent, kind=Kind.MISHAP), "committed")
    message_create(ticket=ticket, actor=agent, body="A note.", public=False)

    page = agent_console.get(reverse("console:tickets_ticket_change", args=[ticket.pk]))

    body = page.content.decode()
    shown = re.findall(r"<time datetime=\"[^\"]+\">([^<]+)</time>", body)
    shown += re.findall(r"<small>([^<]+)</small> ", body)  # the history's moments
    assert shown
    one_way = re.compile(r"[A-Z][a-z]{2} \d{1,2}, \d{4}( \d{2}:\d{2})?")
    assert [moment for moment in shown if not one_way.fullmatch(moment)] == []
