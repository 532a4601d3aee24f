import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import User
from accounts.roles import Role
from tests.factories import QueueFactory, StaffFactory, TicketFactory, advance
from tests.helpers import console_client, count_queries, ticket_page
from tickets.models import Kind, Status

pytestmark = pytest.mark.django_db

QUEUE = reverse("console:tickets_ticket_changelist")


def test_the_console_asks_anonymous_visitors_to_sign_in() -> None:
    response = Client().get(QUEUE)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("console:login"))


def test_a_user_without_a_role_cannot_enter() -> None:
    nobody = User.objects.create_user(username="nobody", password="x", is_staff=True)

    response = console_client(nobody).get(QUEUE)

    assert response.status_code == 302
    assert "login" in response["Location"]


def test_the_home_page_is_the_queue(agent_console: Client) -> None:
    response = agent_console.get("/", follow=True)

    assert response.redirect_chain[-1][0] == QUEUE


def test_an_agent_sees_their_tickets_and_their_queues_only(agent: User) -> None:
    colleague = StaffFactory(role=Role.AGENT)
    shared = QueueFactory(members=[agent, colleague])
    elsewhere = QueueFactory(members=[colleague])
    mine = TicketFactory(actor=agent, subject="Mine")
    in_my_queue = TicketFactory(actor=colleague, queue=shared, subject="In my queue")
    hidden = TicketFactory(actor=colleague, queue=elsewhere, subject="Hidden away")

    response = console_client(agent).get(QUEUE, {"show": "all"})

    body = response.content.decode()
    assert response.status_code == 200
    assert mine.reference in body
    assert in_my_queue.reference in body
    assert hidden.reference not in body
    assert console_client(agent).get(ticket_page(hidden)).status_code == 404
    assert elsewhere.name not in body  # the queue filter lists only the agent's queues


@pytest.mark.parametrize(
    ("show", "expected"),
    [("mine", {"mine"}), ("unassigned", {"unassigned"}), ("awaiting_approval", {"pending"})],
)
def test_the_queue_views(supervisor: User, agent: User, show: str, expected: set[str]) -> None:
    queue = QueueFactory(members=[agent])
    TicketFactory(actor=supervisor, assignee=supervisor, subject="mine")
    TicketFactory(actor=None, queue=queue, subject="unassigned")
    pending = advance(
        TicketFactory(actor=agent, kind=Kind.MISHAP, subject="pending"), to=Status.COMMITTED
    )
    from recovery.services import restitution_grant

    restitution_grant(
        ticket=pending, actor=agent, kind="refund", amount="500.00", currency="USD", reason="Big."
    )

    response = console_client(supervisor).get(QUEUE, {"show": show})

    shown = {t.subject for t in response.context["cl"].result_list}
    assert shown == expected


def test_search_finds_a_ticket_by_reference(agent: User) -> None:
    wanted = TicketFactory(actor=agent, subject="Wanted")
    TicketFactory(actor=agent, subject="Other")

    response = console_client(agent).get(QUEUE, {"q": wanted.reference})

    assert [t.pk for t in response.context["cl"].result_list] == [wanted.pk]


def test_the_queue_is_paginated(agent: User) -> None:
    for _ in range(27):
        TicketFactory(actor=agent)

    first = console_client(agent).get(QUEUE)
    second = console_client(agent).get(QUEUE, {"p": 2})

    assert len(first.context["cl"].result_list) == 25
    assert len(second.context["cl"].result_list) == 2


def test_the_queue_costs_the_same_queries_whatever_the_number_of_tickets(agent: User) -> None:
    client = console_client(agent)
    TicketFactory(actor=agent)
    few = count_queries(client, QUEUE)
    for _ in range(20):
        TicketFactory(actor=agent, queue=QueueFactory(members=[agent]))

    assert count_queries(client, QUEUE) == few


def test_the_ticket_page_costs_the_same_queries_whatever_its_size(agent: User) -> None:
    client = console_client(agent)
    small = advance(TicketFactory(actor=agent, kind=Kind.MISHAP), to=Status.COMMITTED)
    large = advance(TicketFactory(actor=agent, kind=Kind.MISHAP), to=Status.COMMITTED)
    from recovery.services import restitution_grant
    from tickets.services import message_create, ticket_resolve

    for n in range(6):
        message_create(ticket=large, actor=agent, body=f"Update {n}", public=n % 2 == 0)
    restitution_grant(
        ticket=large, actor=agent, kind="gift", amount="5.00", currency="USD", reason="Flowers."
    )
    ticket_resolve(ticket=large, actor=agent, message="Done, as promised.")

    assert count_queries(client, ticket_page(small)) == TICKET_PAGE_QUERIES
    assert count_queries(client, ticket_page(large)) == TICKET_PAGE_QUERIES


# The user with their groups, permissions, policy and the menu's counts; the
# ticket with its commitments, follow-ups, ratings and the customer's trust;
# its history; its restitutions; the spend counters of the grant form; the
# latest messages with their attachments; the saved replies; the edit form's
# assignees and queues.
TICKET_PAGE_QUERIES = 9


def test_opening_a_ticket_marks_what_one_was_told_about_it_read_in_one_query_more(
    agent: User, supervisor: User
) -> None:
    from tickets.models import Notification

    ticket = TicketFactory(actor=agent, kind=Kind.MISHAP)
    for _ in range(2):
        Notification.objects.create(
            recipient=agent, ticket=ticket, kind="assigned", in_app=True, text="New."
        )
    elsewhere = TicketFactory(actor=agent)
    Notification.objects.create(
        recipient=agent, ticket=elsewhere, kind="assigned", in_app=True, text="New."
    )
    client = console_client(agent)

    with CaptureQueriesContext(connection) as queries:
        response = client.get(ticket_page(ticket))

    assert len(queries) == TICKET_PAGE_QUERIES + 1
    assert not Notification.objects.filter(ticket=ticket, read_at=None).exists()
    assert Notification.objects.filter(ticket=elsewhere, read_at=None).count() == 1
    assert "Notifications (1)" in response.content.decode()
    assert count_queries(client, ticket_page(ticket)) == TICKET_PAGE_QUERIES
