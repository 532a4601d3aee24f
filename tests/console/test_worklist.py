"""The queue as a work list: it opens on "My open work" ordered by urgency,
shows each ticket's next step, target countdown and how long the customer
has waited, changes tickets in bulk through the services, keeps each
person's saved views, and finds a ticket by its number alone."""

import html
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.admin import helpers
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import User
from accounts.roles import Role
from console.models import SavedView
from console.saved_views import MAX_VIEWS
from tests.factories import QueueFactory, StaffFactory, TicketFactory, advance
from tests.helpers import console_client
from tickets.models import Kind, Severity, Status, Ticket, TicketEvent
from tickets.services import message_create, message_receive

pytestmark = pytest.mark.django_db

QUEUE = reverse("console:tickets_ticket_changelist")


def rows(response: Any) -> list[Ticket]:
    assert response.status_code == 200
    return list(response.context["cl"].result_list)


def cells(response: Any, ticket: Ticket) -> str:
    """The row of ``ticket`` in the page, as HTML."""
    body = response.content.decode()
    start = body.index(f">{ticket.reference}</a>")
    return body[start : body.index("</tr>", start)]


def test_the_queue_opens_on_my_open_work_most_urgent_first(clock: Any, agent: User) -> None:
    colleague = StaffFactory(role=Role.AGENT)
    queue = QueueFactory(members=[agent, colleague])
    minor = TicketFactory(actor=agent, severity=Severity.MINOR, subject="minor, 4 h")
    critical = TicketFactory(actor=agent, severity=Severity.CRITICAL, subject="critical, 15 min")
    promised = advance(TicketFactory(actor=agent, kind=Kind.MISHAP, subject="promise"), "committed")
    untimed = advance(TicketFactory(actor=agent, subject="answered question"), "acknowledged")
    done = advance(TicketFactory(actor=agent, subject="resolved"), "resolved")
    unassigned = TicketFactory(actor=None, queue=queue, subject="queue's, unassigned")
    colleagues = TicketFactory(actor=colleague, queue=queue, subject="a colleague's")

    shown = rows(console_client(agent).get(QUEUE))

    # Mine first, each by its next deadline (none last), then my queues' unassigned.
    assert [t.subject for t in shown] == [
        critical.subject,
        minor.subject,
        promised.subject,
        untimed.subject,
        unassigned.subject,
    ]
    assert done not in shown
    assert colleagues not in shown


def test_all_is_a_view_of_its_own(agent: User) -> None:
    done = advance(TicketFactory(actor=agent), "closed")
    open_one = TicketFactory(actor=agent)

    shown = rows(console_client(agent).get(QUEUE, {"show": "all"}))

    assert {t.pk for t in shown} == {done.pk, open_one.pk}


def test_each_row_says_the_next_step_the_countdown_and_the_wait(clock: Any, agent: User) -> None:
    client = console_client(agent)
    new = TicketFactory(actor=agent, severity=Severity.MINOR)
    mishap = advance(TicketFactory(actor=agent, kind=Kind.MISHAP), "acknowledged")
    late = TicketFactory(actor=agent, severity=Severity.CRITICAL)
    answered = TicketFactory(actor=agent)
    message_create(ticket=answered, actor=agent, body="On it.", public=True)
    clock.shift(timedelta(minutes=75))
    message_receive(ticket=mishap, body="Hello?")
    clock.shift(timedelta(minutes=45))

    response = client.get(QUEUE)

    assert "acknowledge in 2 h" in cells(response, new)
    assert 'class="next-step">Acknowledge<' in cells(response, new)
    assert "apologize in 22 h" in cells(response, mishap)
    assert 'class="next-step">Apologize<' in cells(response, mishap)
    assert "45 min" in cells(response, mishap)  # waiting since the customer wrote again
    assert "acknowledge: 2 h late" in cells(response, late)  # 105 minutes, rounded
    assert 'class="countdown late"' in cells(response, late)
    assert 'class="field-waiting"><span title="The customer wrote at' in cells(response, new)
    assert '<td class="field-waiting">—</td>' in cells(response, answered)


def test_a_number_alone_finds_the_ticket_and_what_mentions_it(agent: User) -> None:
    wanted = TicketFactory(actor=agent, subject="Wanted", customer_email="ana@example.com")
    TicketFactory(actor=agent, subject="Unrelated", customer_email="bo@example.com")
    mentions = TicketFactory(
        actor=agent, subject=f"Order {wanted.pk} is late", customer_email="cy@example.com"
    )

    shown = rows(console_client(agent).get(QUEUE, {"q": str(wanted.pk), "show": "all"}))
    by_reference = rows(console_client(agent).get(QUEUE, {"q": wanted.reference, "show": "all"}))

    assert {t.pk for t in shown} == {wanted.pk, mentions.pk}
    assert [t.pk for t in by_reference] == [wanted.pk]


def test_the_work_list_costs_the_same_queries_for_2_or_20_tickets(agent: User) -> None:
    client = console_client(agent)
    queue = QueueFactory(members=[agent])
    for _ in range(2):
        advance(TicketFactory(actor=agent, kind=Kind.MISHAP), "committed")
    with CaptureQueriesContext(connection) as few:
        client.get(QUEUE)
    for n in range(18):
        ticket = TicketFactory(actor=agent if n % 2 else None, queue=queue, kind=Kind.MISHAP)
        if n % 3 == 0 and ticket.assignee:
            advance(ticket, "committed")
    with CaptureQueriesContext(connection) as many:
        client.get(QUEUE)

    assert len(many) == len(few)


# --- Bulk changes ----------------------------------------------------------------------


def bulk(client: Client, action: str, tickets: list[Ticket], value: object = None) -> Any:
    data: dict[str, Any] = {
        "action": action,
        helpers.ACTION_CHECKBOX_NAME: [t.pk for t in tickets],
    }
    if value is None:
        data["index"] = 0  # from the list: the page asking for the value
    else:
        data.update(apply="1", value=value)
    return client.post(f"{QUEUE}?show=all", data, follow=value is not None)


def test_bulk_assign_asks_for_whom_then_assigns_each_through_the_service(
    supervisor: User, agent: User
) -> None:
    client = console_client(supervisor)
    tickets = [TicketFactory(actor=supervisor), TicketFactory(actor=supervisor)]

    asking = bulk(client, "bulk_assign", tickets)
    assert asking.status_code == 200
    assert "Assign to" in asking.content.decode()
    assert all(t.reference in asking.content.decode() for t in tickets)
    done = bulk(client, "bulk_assign", tickets, agent.pk)

    page = done.content.decode()
    assert f"Assigned 2 tickets ({tickets[0].reference}, {tickets[1].reference})" in page
    for ticket in tickets:
        ticket.refresh_from_db()
        assert ticket.assignee == agent
        assert TicketEvent.objects.filter(ticket=ticket, action="updated", actor=supervisor)


def test_bulk_changes_report_each_refusal_and_change_the_rest(agent: User) -> None:
    colleague = StaffFactory(role=Role.AGENT)
    shared = QueueFactory(members=[agent, colleague])
    reserved = QueueFactory(members=[agent, colleague], restrict_to_assignee=True)
    mine = TicketFactory(actor=agent, queue=shared)
    theirs = TicketFactory(actor=colleague, queue=reserved)

    done = bulk(console_client(agent), "bulk_change_severity", [mine, theirs], Severity.CRITICAL)

    page = html.unescape(done.content.decode())
    assert f"Changed the severity of 1 ticket ({mine.reference}): critical." in page
    assert f"{theirs.reference} was not changed: Only the ticket's assignee may act" in page
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert mine.severity == Severity.CRITICAL
    assert theirs.severity == Severity.MINOR


def test_bulk_move_to_a_queue(supervisor: User) -> None:
    target = QueueFactory(name="Returns")
    tickets = [TicketFactory(actor=supervisor), TicketFactory(actor=supervisor)]

    bulk(console_client(supervisor), "bulk_move_queue", tickets, target.pk)

    assert {Ticket.objects.get(pk=t.pk).queue for t in tickets} == {target}


def test_a_bulk_value_that_is_not_a_choice_changes_nothing(supervisor: User) -> None:
    ticket = TicketFactory(actor=supervisor)

    response = bulk(console_client(supervisor), "bulk_change_severity", [ticket], "urgentest")

    assert "Select a valid choice" in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.severity == Severity.MINOR


# --- Saved views -----------------------------------------------------------------------


def test_a_saved_view_is_kept_per_person_and_opens_the_same_list(
    agent: User, agent_console: Client
) -> None:
    other = StaffFactory(role=Role.AGENT)
    response = agent_console.post(
        reverse("console:saved_view_save"),
        {"name": "My mishaps", "query": "show=mine&kind__exact=mishap&p=3&evil=1"},
        follow=True,
    )

    assert "Saved the view “My mishaps”." in response.content.decode()
    [view] = SavedView.objects.filter(user=agent)
    assert view.query == "show=mine&kind__exact=mishap"
    assert response.request["QUERY_STRING"] == view.query
    assert 'aria-current="page">My mishaps</a>' in response.content.decode()
    assert "My mishaps" not in console_client(other).get(QUEUE).content.decode()


def test_saving_again_under_a_name_replaces_it_and_delete_removes_it(
    agent: User, agent_console: Client
) -> None:
    save = reverse("console:saved_view_save")
    agent_console.post(save, {"name": "Mine", "query": "show=mine"})
    agent_console.post(save, {"name": "Mine", "query": "show=breached"})
    [view] = SavedView.objects.filter(user=agent)
    assert view.query == "show=breached"

    agent_console.post(reverse("console:saved_view_delete", args=[view.pk]))

    assert not SavedView.objects.filter(user=agent).exists()


@pytest.mark.parametrize(
    ("name", "query", "error"),
    [
        ("", "show=mine", "Name is required."),
        ("Nothing", "p=2&evil=1", "there is nothing to save"),
        ("x" * 61, "show=mine", "longer than the limit of 60"),
    ],
)
def test_a_view_that_cannot_be_saved_says_why(
    agent: User, agent_console: Client, name: str, query: str, error: str
) -> None:
    response = agent_console.post(
        reverse("console:saved_view_save"), {"name": name, "query": query}, follow=True
    )

    assert error in response.content.decode()
    assert not SavedView.objects.exists()


def test_at_most_so_many_views(agent: User, agent_console: Client) -> None:
    for n in range(MAX_VIEWS):
        SavedView.objects.create(user=agent, name=f"View {n}", query="show=mine")

    response = agent_console.post(
        reverse("console:saved_view_save"), {"name": "One more", "query": "show=all"}, follow=True
    )

    assert f"You have {MAX_VIEWS} saved views" in response.content.decode()
    assert SavedView.objects.filter(user=agent).count() == MAX_VIEWS


def test_someone_elses_view_cannot_be_deleted(agent: User) -> None:
    view = SavedView.objects.create(user=StaffFactory(role=Role.AGENT), name="X", query="show=all")

    response = console_client(agent).post(reverse("console:saved_view_delete", args=[view.pk]))

    assert response.status_code == 404
    assert SavedView.objects.filter(pk=view.pk).exists()


def test_ticket_status_still_shows_for_finished_tickets(agent: User) -> None:
    closed = advance(TicketFactory(actor=agent), Status.CLOSED)

    response = console_client(agent).get(QUEUE, {"show": "all"})

    assert "next-step" not in cells(response, closed)


def test_a_view_too_long_to_keep_says_so(agent: User, agent_console: Client) -> None:
    response = agent_console.post(
        reverse("console:saved_view_save"),
        {"name": "Long", "query": "q=" + "ж" * 190 + "&show=all"},
        follow=True,
    )

    assert "too long to save" in response.content.decode()
    assert not SavedView.objects.exists()


def test_bulk_moves_offer_only_the_queues_one_may_file_into(agent: User) -> None:
    mine = QueueFactory(name="Mine", members=[agent])
    QueueFactory(name="Elsewhere")
    ticket = TicketFactory(actor=agent, queue=mine)

    page = bulk(console_client(agent), "bulk_move_queue", [ticket]).content.decode()

    assert ">Mine</option>" in page
    assert "Elsewhere" not in page
