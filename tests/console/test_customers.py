"""The customer page: the whole relationship before answering, limited to the
tickets the viewer may see; and the customers list."""

from datetime import UTC, datetime

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from accounts.models import Customer, User
from accounts.roles import Role
from recovery.models import FollowUp
from recovery.services import restitution_grant
from recovery.services.followup_responses import customer_unsubscribe, feedback_record
from tests.factories import CustomerFactory, QueueFactory, StaffFactory, TicketFactory, advance
from tests.helpers import console_client, count_queries, not_none
from tickets.models import Kind, Status, Ticket
from tickets.services import ticket_resolve, ticket_restore

pytestmark = pytest.mark.django_db

CUSTOMERS = reverse("console:customers")


def page(customer: Customer) -> str:
    return reverse("console:customer", args=[customer.pk])


def ticket_for(customer: Customer, actor: User, **kwargs: object) -> Ticket:
    return TicketFactory(
        actor=actor, customer_email=customer.email, customer_name=customer.name, **kwargs
    )


def recovered_mishap(customer: Customer, agent: User, *, rating: int | None = None) -> Ticket:
    """A mishap with a restitution, resolved (so rebuilding, with follow-ups)."""
    ticket = advance(ticket_for(customer, agent, kind=Kind.MISHAP), to=Status.COMMITTED)
    restitution_grant(
        ticket=ticket, actor=agent, kind="credit", amount="15.00", currency="USD", reason="Sorry."
    )
    ticket = ticket_resolve(ticket=ticket, actor=agent, message="Done, as promised.")
    if rating is not None:
        feedback_record(
            followup=not_none(FollowUp.objects.filter(ticket=ticket).first()), rating=rating
        )
    return ticket


def test_anonymous_visitors_are_asked_to_sign_in() -> None:
    customer = CustomerFactory()

    for url in (CUSTOMERS, page(customer)):
        response = Client().get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("console:login"))


def test_an_unknown_customer_is_not_found(agent_console: Client) -> None:
    assert agent_console.get(reverse("console:customer", args=[999999])).status_code == 404


def test_the_page_shows_the_customer_and_the_relationship(agent: User) -> None:
    customer = CustomerFactory(name="Ada Lovelace", time_zone="Asia/Tokyo", locale="en-GB")
    question = ticket_for(customer, agent, subject="Where is my parcel?")
    mishap = recovered_mishap(customer, agent, rating=4)

    response = console_client(agent).get(page(customer))

    body = response.content.decode()
    assert response.status_code == 200
    for text in ("Ada Lovelace", customer.email, "Asia/Tokyo", "en-GB", question.reference):
        assert text in body
    assert mishap.reference in body
    assert "In a rebuilding period" in body
    assert "Credit 15.00 USD" in body
    assert "4/5" in body
    assert len(response.context["followups"]) == 3
    assert reverse("console:tickets_ticket_change", args=[question.pk]) in body


def test_their_time_now_is_the_customers_wall_time_whatever_the_readers_zone(
    agent: User,
) -> None:
    agent.time_zone = "Asia/Tokyo"
    agent.save(update_fields=["time_zone"])
    customer = CustomerFactory(time_zone="America/Sao_Paulo")

    # 06:45 UTC on a Thursday: 03:45 in São Paulo, 15:45 in Tokyo.
    with time_machine.travel(datetime(2026, 12, 3, 6, 45, tzinfo=UTC), tick=False):
        response = console_client(agent).get(page(customer))

    body = response.content.decode()
    assert '<dd id="local-time">Thu 03:45</dd>' in body


def test_ratings_over_time_are_drawn_oldest_first(agent: User) -> None:
    customer = CustomerFactory()
    first = recovered_mishap(customer, agent, rating=2)
    recovered_mishap(customer, agent, rating=5)

    response = console_client(agent).get(page(customer))

    assert [f.rating for f in response.context["ratings"]] == [2, 5]
    assert response.context["ratings"][0].ticket == first
    assert b"<svg" in response.content
    assert b'aria-label="Ratings over time, oldest first: 2, 5 out of 5"' in response.content


def test_an_opt_out_and_the_end_of_rebuilding_are_shown(agent: User) -> None:
    customer = CustomerFactory()
    mishap = recovered_mishap(customer, agent)
    customer_unsubscribe(followup=not_none(FollowUp.objects.filter(ticket=mishap).first()))
    ticket_restore(ticket=mishap, actor=agent, reason="Customer asked for no more emails.")

    body = console_client(agent).get(page(customer)).content.decode()

    assert "Opted out of follow-ups" in body
    assert "Not in a rebuilding period" in body


def test_an_agent_sees_only_the_tickets_they_may_see(agent: User) -> None:
    colleague = StaffFactory(role=Role.AGENT)
    customer = CustomerFactory()
    mine = ticket_for(customer, agent, subject="Mine")
    hidden = recovered_mishap(customer, colleague, rating=1)  # the colleague's, in no queue

    response = console_client(agent).get(page(customer))

    body = response.content.decode()
    assert response.status_code == 200
    assert mine.reference in body
    assert hidden.reference not in body
    assert response.context["restitutions"] == []
    assert response.context["ratings"] == []
    assert response.context["hidden_count"] == 1
    assert "1 more ticket of this customer is in queues you do not work" in body
    # The relationship's state is the customer's, whoever holds the mishap.
    assert "In a rebuilding period" in body
    # A supervisor sees everything.
    supervisor_view = console_client(StaffFactory(role=Role.SUPERVISOR)).get(page(customer))
    assert hidden.reference in supervisor_view.content.decode()
    assert supervisor_view.context["hidden_count"] == 0


def test_the_page_costs_the_same_queries_whatever_the_relationship(agent: User) -> None:
    client = console_client(agent)
    small = CustomerFactory()
    ticket_for(small, agent)
    large = CustomerFactory()
    for rating in (1, 3, 5):
        recovered_mishap(large, agent, rating=rating)
    for _ in range(4):
        ticket_for(large, agent, queue=QueueFactory(members=[agent]))

    assert count_queries(client, page(small)) == count_queries(client, page(large))


def test_the_list_searches_by_name_or_email(agent_console: Client) -> None:
    ada = CustomerFactory(name="Ada Lovelace", email="ada@example.org")
    grace = CustomerFactory(name="Grace Hopper", email="grace@navy.example")

    by_name = agent_console.get(CUSTOMERS, {"q": "lovelace"})
    by_email = agent_console.get(CUSTOMERS, {"q": "navy.example"})

    assert by_name.context["customers"] == [ada]
    assert by_email.context["customers"] == [grace]
    assert page(ada) in by_name.content.decode()


def test_the_list_is_paginated_by_25_and_costs_fixed_queries(agent: User) -> None:
    client = console_client(agent)
    CustomerFactory()
    few = count_queries(client, CUSTOMERS)
    for _ in range(26):
        ticket_for(CustomerFactory(), agent)

    first = client.get(CUSTOMERS)
    second = client.get(CUSTOMERS, {"p": 2})

    assert len(first.context["customers"]) == 25
    assert len(second.context["customers"]) == 2
    assert count_queries(client, CUSTOMERS) == few


def test_the_ticket_page_and_the_queue_link_to_the_customer(agent: User) -> None:
    ticket = TicketFactory(actor=agent)
    client = console_client(agent)

    ticket_page = client.get(reverse("console:tickets_ticket_change", args=[ticket.pk]))
    queue = client.get(reverse("console:tickets_ticket_changelist"))

    assert page(ticket.customer) in ticket_page.content.decode()
    assert page(ticket.customer) in queue.content.decode()


def test_customers_are_in_every_staff_menu(agent_console: Client) -> None:
    labels = [item["label"] for item in agent_console.get(CUSTOMERS).context["console_menu"]]

    assert "Customers" in labels


@pytest.mark.django_db
def test_a_nul_in_the_customer_search_is_not_a_500(agent: User) -> None:
    response = console_client(agent).get(reverse("console:customers"), {"q": "ab\x00c"})

    # Refused up front, like a NUL anywhere in a request (RejectUnstorableTextMiddleware).
    assert response.status_code == 400
    assert b"Bad request" in response.content
