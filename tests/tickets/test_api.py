"""The ticket endpoints of the REST API (SPEC, "REST API (v1)"): who sees and
works which ticket, listing, opening and editing tickets, the transitions,
turning a question into a mishap, the conversation, and a fixed number of
queries per page whatever its size."""

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import User
from accounts.roles import Role
from tests.factories import QueueFactory, StaffFactory, TicketFactory, advance
from tests.helpers import assert_problem, client_for
from tickets.models import Kind, Message, Queue, Severity, Status, Ticket, TicketEvent
from tickets.services import message_create, ticket_update

pytestmark = pytest.mark.django_db

TICKETS = "/api/v1/tickets/"


def at(ticket: Ticket | int, action: str = "") -> str:
    pk = ticket if isinstance(ticket, int) else ticket.pk
    return f"{TICKETS}{pk}/{action}/" if action else f"{TICKETS}{pk}/"


def ticket_body(**overrides: Any) -> dict[str, Any]:
    return {
        "subject": "The parcel never came",
        "body": "It has been two weeks.",
        "kind": "question",
        "severity": "minor",
        "channel": "email",
        "customer_email": "ana@example.com",
        "customer_name": "Ana Costa",
        **overrides,
    }


def events_of(ticket: Ticket) -> list[str]:
    return list(
        TicketEvent.objects.filter(ticket=ticket).order_by("id").values_list("action", flat=True)
    )


def result_ids(response: Any) -> list[int]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


@pytest.fixture
def colleague(db: None) -> User:
    return StaffFactory(role=Role.AGENT)


@pytest.fixture
def queue(agent: User) -> Queue:
    return QueueFactory(name="Billing", slug="billing", members=[agent])


# --- Visibility and permissions ------------------------------------------------------


@dataclass
class Visibility:
    in_my_queue: Ticket
    assigned_to_me: Ticket
    other_queue: Ticket
    someone_elses: Ticket

    @property
    def all(self) -> set[int]:
        return {t.pk for t in vars(self).values()}


@pytest.fixture
def visibility(agent: User, supervisor: User, queue: Queue) -> Visibility:
    elsewhere = QueueFactory(name="Shipping", slug="shipping")
    return Visibility(
        in_my_queue=TicketFactory(actor=supervisor, queue=queue),
        assigned_to_me=TicketFactory(actor=agent),
        other_queue=TicketFactory(queue=elsewhere),
        someone_elses=TicketFactory(),
    )


def test_an_agent_lists_the_tickets_of_their_queues_and_those_assigned_to_them(
    agent: User, visibility: Visibility
) -> None:
    response = client_for(agent).get(TICKETS)

    assert set(result_ids(response)) == {
        visibility.in_my_queue.pk,
        visibility.assigned_to_me.pk,
    }
    assert response.json()["count"] == 2


@pytest.mark.parametrize("name", ["in_my_queue", "assigned_to_me"])
def test_an_agent_opens_a_ticket_they_may_see(
    agent: User, visibility: Visibility, name: str
) -> None:
    ticket = getattr(visibility, name)

    response = client_for(agent).get(at(ticket))

    assert response.status_code == 200
    assert response.json()["reference"] == ticket.reference


@pytest.mark.parametrize("name", ["other_queue", "someone_elses"])
@pytest.mark.parametrize(
    ("method", "action", "body"),
    [
        ("get", "", None),
        ("patch", "", {"subject": "Mine now"}),
        ("get", "messages", None),
        ("post", "messages", {"body": "Hello", "public": True}),
        ("post", "acknowledge", {"message": "We are on it."}),
        ("post", "make-mishap", {}),
    ],
)
def test_an_agent_gets_404_for_tickets_they_may_not_see(
    agent: User,
    visibility: Visibility,
    name: str,
    method: str,
    action: str,
    body: dict[str, Any] | None,
) -> None:
    ticket = getattr(visibility, name)
    before = events_of(ticket)
    subject = ticket.subject

    response = getattr(client_for(agent), method)(at(ticket, action), body, format="json")

    assert_problem(response, 404, "not-found")
    ticket.refresh_from_db()
    assert (ticket.status, ticket.kind, ticket.subject) == (Status.NEW, Kind.QUESTION, subject)
    assert events_of(ticket) == before
    assert not Message.objects.filter(ticket=ticket, author=agent).exists()


@pytest.mark.parametrize("role", [Role.SUPERVISOR, Role.ADMIN])
def test_supervisors_and_admins_see_every_ticket(visibility: Visibility, role: Role) -> None:
    api = client_for(StaffFactory(role=role))

    assert set(result_ids(api.get(TICKETS))) == visibility.all
    for pk in visibility.all:
        assert api.get(at(pk)).status_code == 200


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("get", TICKETS, None),
        ("post", TICKETS, ticket_body()),
        ("get", "{ticket}", None),
        ("get", "{ticket}messages/", None),
        ("post", "{ticket}acknowledge/", {"message": "Hi"}),
    ],
)
def test_an_anonymous_caller_gets_401(
    api_client: APIClient, visibility: Visibility, method: str, path: str, body: Any
) -> None:
    url = path.format(ticket=at(visibility.in_my_queue))

    response = getattr(api_client, method)(url, body, format="json")

    assert_problem(response, 401, "not-authenticated")
    assert Ticket.objects.count() == 4


@pytest.fixture
def reserved(agent: User, colleague: User, supervisor: User) -> Ticket:
    """A ticket of a queue that reserves work to the assignee (``colleague``),
    of which ``agent`` is a member too."""
    queue = QueueFactory(
        name="VIP", slug="vip", members=[agent, colleague], restrict_to_assignee=True
    )
    return TicketFactory(actor=supervisor, queue=queue, assignee=colleague)


def test_a_queue_member_who_is_not_the_assignee_sees_a_reserved_ticket_but_cannot_act(
    agent: User, reserved: Ticket
) -> None:
    response = client_for(agent).get(at(reserved))

    assert response.status_code == 200
    assert response.json()["available_transitions"] == []
    assert response.json()["missing_steps"] == ["acknowledge"]


def test_a_queue_member_who_is_not_the_assignee_cannot_acknowledge_a_reserved_ticket(
    agent: User, reserved: Ticket
) -> None:
    before = events_of(reserved)

    response = client_for(agent).post(
        at(reserved, "acknowledge"), {"message": "We are on it."}, format="json"
    )

    assert_problem(response, 403, "permission-denied")
    reserved.refresh_from_db()
    assert reserved.status == Status.NEW
    assert events_of(reserved) == before
    assert not Message.objects.filter(ticket=reserved, author=agent).exists()


@pytest.mark.parametrize(
    ("method", "action", "body"),
    [
        ("patch", "", {"severity": "critical"}),
        ("post", "messages", {"body": "A note", "public": False}),
        ("post", "make-mishap", {}),
    ],
)
def test_a_non_assignee_cannot_change_a_reserved_ticket_in_any_way(
    agent: User, reserved: Ticket, method: str, action: str, body: dict[str, Any]
) -> None:
    before = events_of(reserved)

    response = getattr(client_for(agent), method)(at(reserved, action), body, format="json")

    assert_problem(response, 403, "permission-denied")
    reserved.refresh_from_db()
    assert (reserved.severity, reserved.kind) == (Severity.MINOR, Kind.QUESTION)
    assert events_of(reserved) == before


def test_the_assignee_of_a_reserved_ticket_can_act(colleague: User, reserved: Ticket) -> None:
    api = client_for(colleague)
    assert api.get(at(reserved)).json()["available_transitions"] == ["acknowledge"]

    response = api.post(at(reserved, "acknowledge"), {"message": "We are on it."}, format="json")

    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "acknowledged"


def test_a_ticket_an_agent_opens_is_assigned_to_them(agent: User) -> None:
    response = client_for(agent).post(TICKETS, ticket_body(), format="json")

    assert response.status_code == 201, response.json()
    assert response.json()["assignee"]["id"] == agent.pk
    assert Ticket.objects.get(pk=response.json()["id"]).assignee == agent


@pytest.mark.parametrize(
    ("address", "status"),
    [("jdöe@mächine.example", 201), ("jo@bücher.example", 201), ("xxxxx@xxxxx", 400), ("0", 400)],
)
def test_a_customer_address_is_taken_as_people_have_them(
    agent: User, address: str, status: int
) -> None:
    response = client_for(agent).post(TICKETS, ticket_body(customer_email=address), format="json")

    assert response.status_code == status, response.json()
    if status == 400:
        assert response.json()["errors"]["customer_email"] == ["Enter a valid email address."]
    else:
        assert Ticket.objects.get(pk=response.json()["id"]).customer.email == address


def test_an_agent_can_open_a_ticket_for_a_named_colleague(
    agent: User, colleague: User, queue: Queue
) -> None:
    response = client_for(agent).post(
        TICKETS, ticket_body(assignee=colleague.pk, queue="billing"), format="json"
    )

    assert response.status_code == 201, response.json()
    assert response.json()["assignee"]["id"] == colleague.pk
    assert Ticket.objects.get(pk=response.json()["id"]).assignee == colleague


def test_an_agent_can_open_a_ticket_for_a_colleague_outside_their_queues(
    agent: User, colleague: User
) -> None:
    response = client_for(agent).post(TICKETS, ticket_body(assignee=colleague.pk), format="json")

    assert response.status_code == 201
    assert response.json()["assignee"]["id"] == colleague.pk


def test_a_ticket_a_supervisor_opens_is_theirs_unless_they_ask_for_nobody(
    supervisor: User,
) -> None:
    client = client_for(supervisor)
    theirs = client.post(TICKETS, ticket_body(), format="json")
    nobodys = client.post(TICKETS, ticket_body(assignee=None), format="json")

    assert theirs.status_code == 201, theirs.json()
    assert theirs.json()["assignee"]["id"] == supervisor.pk
    assert nobodys.status_code == 201, nobodys.json()
    assert nobodys.json()["assignee"] is None
    assert Ticket.objects.get(pk=nobodys.json()["id"]).assignee is None


def test_an_agent_may_leave_a_ticket_to_a_queue_but_not_to_nobody(
    agent: User, queue: Queue
) -> None:
    client = client_for(agent)
    to_the_queue = client.post(TICKETS, ticket_body(assignee=None, queue=queue.slug), format="json")
    nowhere = client.post(TICKETS, ticket_body(assignee=None), format="json")

    assert to_the_queue.json()["assignee"] is None
    assert nowhere.json()["assignee"]["id"] == agent.pk


# --- List ---------------------------------------------------------------------------


@dataclass
class Board:
    question: Ticket
    mishap: Ticket
    answered: Ticket


@pytest.fixture
def board(agent: User, supervisor: User, queue: Queue) -> Board:
    question = TicketFactory(
        actor=supervisor,
        unassigned=True,
        subject="Where is my parcel?",
        body="Ordered a lamp last week.",
        customer_email="ana@example.com",
    )
    mishap = TicketFactory(
        actor=supervisor,
        subject="Broken vase",
        body="It arrived in pieces.",
        kind=Kind.MISHAP,
        severity=Severity.CRITICAL,
        queue=queue,
        assignee=agent,
        customer_email="ben@example.com",
    )
    message_create(ticket=mishap, actor=supervisor, body="The courier dropped it.", public=False)
    answered = advance(
        TicketFactory(
            actor=agent,
            subject="Opening hours",
            body="Are you open on Sunday?",
            severity=Severity.MAJOR,
            customer_email="ana@example.com",
        ),
        to="acknowledged",
    )
    return Board(question=question, mishap=mishap, answered=answered)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (lambda b: {"status": "acknowledged"}, lambda b: [b.answered]),
        (lambda b: {"status": "new"}, lambda b: [b.mishap, b.question]),
        (lambda b: {"kind": "mishap"}, lambda b: [b.mishap]),
        (lambda b: {"kind": "question"}, lambda b: [b.answered, b.question]),
        (lambda b: {"severity": "critical"}, lambda b: [b.mishap]),
        (lambda b: {"severity": "major"}, lambda b: [b.answered]),
        (lambda b: {"queue": "billing"}, lambda b: [b.mishap]),
        (lambda b: {"queue": "no-such-queue"}, lambda b: []),
        (lambda b: {"assignee": b.mishap.assignee_id}, lambda b: [b.answered, b.mishap]),
        (lambda b: {"assignee": "none"}, lambda b: [b.question]),
        (lambda b: {"customer": b.question.customer_id}, lambda b: [b.answered, b.question]),
        (lambda b: {"customer": b.mishap.customer_id}, lambda b: [b.mishap]),
        (lambda b: {"kind": "question", "severity": "minor"}, lambda b: [b.question]),
    ],
    ids=[
        "status",
        "status-new",
        "kind-mishap",
        "kind-question",
        "severity-critical",
        "severity-major",
        "queue",
        "unknown-queue",
        "assignee",
        "unassigned",
        "customer",
        "other-customer",
        "combined",
    ],
)
def test_the_list_filters(supervisor: User, board: Board, query: Any, expected: Any) -> None:
    response = client_for(supervisor).get(TICKETS, query(board))

    assert result_ids(response) == [t.pk for t in expected(board)]
    assert response.json()["count"] == len(expected(board))


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        ("PARCEL", lambda b: [b.question]),  # the subject, ignoring case
        ("in pieces", lambda b: [b.mishap]),  # the customer's message
        ("courier", lambda b: [b.mishap]),  # an internal note
        ("sorry", lambda b: []),
        ("{answered}", lambda b: [b.answered]),  # a reference
        ("see {answered} please", lambda b: [b.answered]),
    ],
    ids=["subject", "message", "note", "nothing", "reference", "reference-in-text"],
)
def test_the_list_searches_subjects_messages_and_references(
    supervisor: User, board: Board, search: str, expected: Any
) -> None:
    text = search.format(answered=board.answered.reference.lower())

    response = client_for(supervisor).get(TICKETS, {"search": text})

    assert result_ids(response) == [t.pk for t in expected(board)]


def test_a_search_for_an_impossible_reference_finds_nothing(supervisor: User, board: Board) -> None:
    response = client_for(supervisor).get(TICKETS, {"search": "HD-999999999999"})

    assert result_ids(response) == []


def test_the_search_only_looks_at_tickets_the_agent_may_see(agent: User, board: Board) -> None:
    # The question is unassigned and outside the agent's queue.
    response = client_for(agent).get(TICKETS, {"search": "parcel"})

    assert result_ids(response) == []


@pytest.mark.parametrize(
    ("ordering", "expected"),
    [
        (None, lambda b: [b.answered, b.mishap, b.question]),
        ("-created", lambda b: [b.answered, b.mishap, b.question]),
        ("created", lambda b: [b.question, b.mishap, b.answered]),
        ("-updated", lambda b: [b.question, b.answered, b.mishap]),
        ("updated", lambda b: [b.mishap, b.answered, b.question]),
    ],
)
def test_the_list_is_ordered(
    supervisor: User, board: Board, ordering: str | None, expected: Any
) -> None:
    ticket_update(ticket=board.question, actor=supervisor, severity=Severity.MAJOR)
    query = {"ordering": ordering} if ordering else {}

    response = client_for(supervisor).get(TICKETS, query)

    assert result_ids(response) == [t.pk for t in expected(board)]


def test_the_list_is_paginated(supervisor: User) -> None:
    tickets = [TicketFactory(actor=supervisor) for _ in range(5)]
    newest_first = [t.pk for t in reversed(tickets)]
    api = client_for(supervisor)

    first = api.get(TICKETS, {"page_size": 2})
    last = api.get(TICKETS, {"page_size": 2, "page": 3})

    assert first.json()["count"] == 5
    assert result_ids(first) == newest_first[:2]
    assert "page=2" in first.json()["next"]
    assert "page_size=2" in first.json()["next"]
    assert first.json()["previous"] is None
    assert result_ids(api.get(first.json()["next"])) == newest_first[2:4]
    assert result_ids(last) == newest_first[4:]
    assert last.json()["next"] is None


@pytest.mark.parametrize("ordering", [None, "created", "-updated"])
def test_the_list_pages_by_cursor_on_request(supervisor: User, ordering: str | None) -> None:
    for _ in range(5):
        TicketFactory(actor=supervisor)
    api = client_for(supervisor)
    params = {"ordering": ordering} if ordering else {}
    expected = result_ids(api.get(TICKETS, params))

    page = api.get(TICKETS, {**params, "pagination": "cursor", "page_size": "2"}).json()
    seen = [row["id"] for row in page["results"]]
    while page["next"]:
        assert "cursor=" in page["next"]
        page = api.get(page["next"]).json()
        seen += [row["id"] for row in page["results"]]

    assert seen == expected
    assert "count" not in page  # a cursor page never counts the whole list
    assert page["previous"] is not None


def test_a_cursor_page_keeps_the_filters(supervisor: User, queue: Queue) -> None:
    inside = [TicketFactory(actor=supervisor, queue=queue) for _ in range(3)]
    TicketFactory(actor=supervisor)
    api = client_for(supervisor)

    first = api.get(TICKETS, {"queue": queue.slug, "pagination": "cursor", "page_size": "2"})
    second = api.get(first.json()["next"])

    assert result_ids(first) + result_ids(second) == [t.pk for t in reversed(inside)]


def test_a_tampered_cursor_is_refused(supervisor: User) -> None:
    response = client_for(supervisor).get(TICKETS, {"cursor": "not-a-cursor"})

    assert response.status_code == 404


def test_a_page_past_the_end_is_a_404_problem(supervisor: User, board: Board) -> None:
    response = client_for(supervisor).get(TICKETS, {"page": 9})

    assert_problem(response, 404, "not-found")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("status", "open"),
        ("kind", "complaint"),
        ("severity", "urgent"),
        ("assignee", "bob"),
        ("customer", "ana@example.com"),
        ("ordering", "subject"),
    ],
)
def test_a_bad_filter_value_is_a_400_naming_the_filter(
    supervisor: User, board: Board, name: str, value: str
) -> None:
    response = client_for(supervisor).get(TICKETS, {name: value})

    body = assert_problem(response, 400, "validation-error")
    assert list(body["errors"]) == [name]


# --- Create -------------------------------------------------------------------------


def test_creating_a_ticket_answers_201_with_what_can_be_done_next(agent: User) -> None:
    response = client_for(agent).post(
        TICKETS, ticket_body(kind="mishap", severity="major", channel="phone"), format="json"
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    ticket = Ticket.objects.get(pk=body["id"])
    assert body["reference"] == f"HD-{ticket.pk:06d}" == ticket.reference
    assert (body["status"], body["kind"], body["severity"], body["channel"]) == (
        "new",
        "mishap",
        "major",
        "phone",
    )
    assert body["available_transitions"] == ["acknowledge"]
    assert body["missing_steps"] == ["acknowledge", "apologize", "commit"]
    assert body["customer"]["email"] == "ana@example.com"
    assert [e["action"] for e in body["history"]] == ["created"]
    assert list(ticket.messages.values_list("author_kind", "body")) == [
        ("customer", "It has been two weeks.")
    ]


def test_kind_severity_and_channel_default_when_omitted(agent: User) -> None:
    body = ticket_body()
    for name in ("kind", "severity", "channel"):
        del body[name]

    response = client_for(agent).post(TICKETS, body, format="json")

    assert response.status_code == 201, response.json()
    assert (response.json()["kind"], response.json()["severity"]) == ("question", "minor")
    assert response.json()["channel"] == "email"


def test_creating_a_ticket_with_invalid_choices_names_each_field(agent: User) -> None:
    response = client_for(agent).post(
        TICKETS,
        ticket_body(kind="complaint", channel="pigeon", customer_email="not-an-address"),
        format="json",
    )

    body = assert_problem(response, 400, "validation-error")
    assert set(body["errors"]) == {"kind", "channel", "customer_email"}
    assert not Ticket.objects.exists()


def test_creating_a_ticket_needs_its_fields(agent: User) -> None:
    response = client_for(agent).post(TICKETS, {}, format="json")

    body = assert_problem(response, 400, "validation-error")
    # The customer's name is needed only for a new customer (the service says so).
    assert set(body["errors"]) == {"subject", "body", "customer_email"}


@pytest.mark.parametrize(
    "extra",
    [{"status": "resolved"}, {"is_repeat_failure": True}, {"our_part": "None"}],
    ids=["status", "is_repeat_failure", "our_part"],
)
def test_creating_a_ticket_refuses_fields_it_does_not_take(
    agent: User, extra: dict[str, Any]
) -> None:
    response = client_for(agent).post(TICKETS, ticket_body(**extra), format="json")

    body = assert_problem(response, 400, "validation-error")
    assert list(body["errors"]) == list(extra)
    assert not Ticket.objects.exists()


# Spaces only are a string the schema allows (minLength 1): the service
# refuses the blank subject as a broken rule.
@pytest.mark.parametrize(
    ("subject", "status", "slug"),
    [
        ("", 400, "validation-error"),
        ("   ", 422, "rule-violation"),
        ("x" * 301, 400, "validation-error"),
    ],
    ids=["empty", "blank", "too-long"],
)
def test_creating_a_ticket_refuses_a_blank_or_oversized_subject(
    agent: User, subject: str, status: int, slug: str
) -> None:
    response = client_for(agent).post(TICKETS, ticket_body(subject=subject), format="json")

    body = assert_problem(response, status, slug)
    assert list(body["errors"]) == ["subject"]
    assert not Ticket.objects.exists()


def test_a_subject_of_exactly_the_limit_is_accepted(agent: User) -> None:
    response = client_for(agent).post(TICKETS, ticket_body(subject="x" * 300), format="json")

    assert response.status_code == 201, response.json()
    assert response.json()["subject"] == "x" * 300


@pytest.mark.parametrize(
    "assignee", [lambda: 987654, lambda: StaffFactory(role=Role.AGENT, username="gone").pk]
)
def test_a_ticket_cannot_be_assigned_to_an_unknown_or_inactive_user(
    agent: User, assignee: Any
) -> None:
    pk = assignee()
    User.objects.filter(pk=pk).update(is_active=False)

    response = client_for(agent).post(TICKETS, ticket_body(assignee=pk), format="json")

    # The id is of the right type; that nobody active has it is a broken rule.
    body = assert_problem(response, 422, "rule-violation")
    assert list(body["errors"]) == ["assignee"]
    assert not Ticket.objects.exists()


def test_creating_a_ticket_with_malformed_json_is_a_400(agent: User) -> None:
    response = client_for(agent).post(TICKETS, b'{"subject": ', content_type="application/json")

    assert_problem(response, 400, "malformed-request")
    assert not Ticket.objects.exists()


# --- PATCH --------------------------------------------------------------------------


def test_patch_changes_the_editable_fields_and_records_old_and_new(
    supervisor: User, agent: User, queue: Queue
) -> None:
    ticket = TicketFactory(actor=supervisor, unassigned=True, subject="Old subject")

    response = client_for(supervisor).patch(
        at(ticket),
        {"subject": "New subject", "severity": "major", "queue": "billing", "assignee": agent.pk},
        format="json",
    )

    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["subject"], body["severity"], body["queue"]) == ("New subject", "major", "billing")
    assert body["assignee"]["id"] == agent.pk
    event = TicketEvent.objects.filter(ticket=ticket).latest("id")
    assert event.action == "updated"
    assert event.actor == supervisor
    assert event.payload == {
        "subject": ["Old subject", "New subject"],
        "severity": ["minor", "major"],
        "queue": [None, queue.pk],
        "assignee": [None, agent.pk],
    }
    assert body["history"][-1]["action"] == "updated"
    ticket.refresh_from_db()
    assert (ticket.subject, ticket.severity, ticket.queue, ticket.assignee) == (
        "New subject",
        "major",
        queue,
        agent,
    )


def test_an_agent_patches_their_own_ticket(agent: User) -> None:
    ticket = TicketFactory(actor=agent)

    response = client_for(agent).patch(at(ticket), {"severity": "critical"}, format="json")

    assert response.status_code == 200, response.json()
    assert response.json()["severity"] == "critical"
    assert TicketEvent.objects.filter(ticket=ticket).latest("id").payload == {
        "severity": ["minor", "critical"]
    }


def test_patch_that_changes_nothing_records_nothing(supervisor: User) -> None:
    ticket = TicketFactory(actor=supervisor, subject="Same")

    response = client_for(supervisor).patch(at(ticket), {"subject": "Same"}, format="json")

    assert response.status_code == 200
    assert events_of(ticket) == ["created"]


def test_an_agent_can_hand_their_ticket_to_a_colleague(agent: User, colleague: User) -> None:
    ticket = TicketFactory(actor=agent)

    response = client_for(agent).patch(at(ticket), {"assignee": colleague.pk}, format="json")

    assert response.status_code == 200
    assert response.json()["assignee"]["id"] == colleague.pk


@pytest.mark.parametrize(
    "change",
    [{"status": "resolved"}, {"kind": "mishap"}, {"status": "closed", "subject": "Sneaky"}],
    ids=["status", "kind", "status-with-subject"],
)
def test_patch_refuses_status_and_kind_and_changes_nothing(
    supervisor: User, change: dict[str, Any]
) -> None:
    ticket = TicketFactory(actor=supervisor, subject="Original")

    response = client_for(supervisor).patch(at(ticket), change, format="json")

    body = assert_problem(response, 400, "validation-error")
    refused = next(name for name in ("status", "kind") if name in change)
    assert list(body["errors"]) == [refused]
    ticket.refresh_from_db()
    assert (ticket.status, ticket.kind, ticket.subject) == (Status.NEW, Kind.QUESTION, "Original")
    assert events_of(ticket) == ["created"]


def test_patch_refuses_an_invalid_severity(supervisor: User) -> None:
    ticket = TicketFactory(actor=supervisor)

    response = client_for(supervisor).patch(at(ticket), {"severity": "apocalyptic"}, format="json")

    body = assert_problem(response, 400, "validation-error")
    assert list(body["errors"]) == ["severity"]
    ticket.refresh_from_db()
    assert ticket.severity == Severity.MINOR


def test_put_is_not_allowed(supervisor: User) -> None:
    ticket = TicketFactory(actor=supervisor, subject="Original")

    response = client_for(supervisor).put(
        at(ticket), {"subject": "Replaced", "severity": "major"}, format="json"
    )

    assert_problem(response, 405, "method-not-allowed")
    assert "PUT" not in response["Allow"]
    ticket.refresh_from_db()
    assert ticket.subject == "Original"


# --- Transitions --------------------------------------------------------------------


def mishap_for(agent: User, to: str = "new") -> Ticket:
    ticket = TicketFactory(actor=agent, kind=Kind.MISHAP)
    return ticket if to == "new" else advance(ticket, to=to)


def question_for(agent: User, to: str = "new") -> Ticket:
    ticket = TicketFactory(actor=agent)
    return ticket if to == "new" else advance(ticket, to=to)


def future(**delta: float) -> str:
    return (timezone.now() + timedelta(**delta)).isoformat()


def test_a_mishap_walks_through_every_step(agent: User) -> None:
    ticket = mishap_for(agent)
    api = client_for(agent)

    steps = [
        ("acknowledge", {"message": "We have it.", "our_part": "We packed it badly."}),
        ("apologize", {"message": "We are sorry."}),
        ("commit", {"promise": "A new one ships today.", "due_at": future(days=1)}),
        ("resolve", {"message": "It arrived."}),
        ("restore", {"reason": "Plan complete."}),
    ]
    statuses = []
    for name, body in steps:
        response = api.post(at(ticket, name), body, format="json")
        assert response.status_code == 200, (name, response.json())
        statuses.append(response.json()["status"])

    assert statuses == ["acknowledged", "apologized", "committed", "rebuilding", "restored"]
    # Resolving schedules the follow-ups; restoring cancels what is left of them.
    assert events_of(ticket) == [
        "created",
        "acknowledge",
        "apologize",
        "commit",
        "resolve",
        "followups_scheduled",
        "restore",
        "followups_cancelled",
    ]


@pytest.mark.parametrize(
    ("to", "name", "body", "missing"),
    [
        ("new", "resolve", {"message": "Done."}, ["acknowledge", "apologize", "commit"]),
        ("new", "apologize", {"message": "Sorry."}, ["acknowledge"]),
        ("new", "commit", {"promise": "Soon.", "due_at": None}, ["acknowledge", "apologize"]),
        ("acknowledged", "resolve", {"message": "Done."}, ["apologize", "commit"]),
        ("apologized", "restore", {"reason": "Why not."}, ["commit", "resolve"]),
        ("committed", "acknowledge", {"message": "Hi", "our_part": "Ours."}, []),
        # An open ticket is not finished: nothing is missing, it just cannot reopen.
        ("new", "reopen", {"reason": "Again."}, []),
    ],
)
def test_a_transition_out_of_order_is_a_409_naming_the_missing_steps(
    agent: User, to: str, name: str, body: dict[str, Any], missing: list[str]
) -> None:
    ticket = mishap_for(agent, to=to)
    before = events_of(ticket)
    if "due_at" in body:
        body = {**body, "due_at": future(days=1)}

    response = client_for(agent).post(at(ticket, name), body, format="json")

    problem = assert_problem(response, 409, "transition-not-allowed")
    assert problem["missing_steps"] == missing
    assert problem["current_status"] == to
    ticket.refresh_from_db()
    assert ticket.status == to
    assert events_of(ticket) == before
    assert ticket.commitments.count() == (1 if to == "committed" else 0)


def test_a_refused_transition_sends_no_message(agent: User) -> None:
    ticket = mishap_for(agent)
    messages = ticket.messages.count()

    response = client_for(agent).post(at(ticket, "apologize"), {"message": "Sorry"}, format="json")

    assert response.status_code == 409
    assert ticket.messages.count() == messages


@pytest.mark.parametrize(
    ("name", "body"),
    [("apologize", {"message": "Sorry."}), ("commit", {"promise": "Soon.", "due_at": None})],
)
def test_a_question_cannot_take_a_mishaps_steps(
    agent: User, name: str, body: dict[str, Any]
) -> None:
    ticket = question_for(agent, to="acknowledged")
    before = events_of(ticket)
    if "due_at" in body:
        body = {**body, "due_at": future(days=1)}

    response = client_for(agent).post(at(ticket, name), body, format="json")

    problem = assert_problem(response, 422, "rule-violation")
    assert "mishap" in problem["detail"]
    ticket.refresh_from_db()
    assert ticket.status == Status.ACKNOWLEDGED
    assert events_of(ticket) == before


def test_a_question_shows_only_its_own_steps(agent: User) -> None:
    ticket = question_for(agent, to="acknowledged")

    body = client_for(agent).get(at(ticket)).json()

    assert body["available_transitions"] == ["resolve"]
    assert body["missing_steps"] == []


def test_a_commitment_due_in_the_past_is_a_rule_violation(agent: User) -> None:
    ticket = mishap_for(agent, to="apologized")

    response = client_for(agent).post(
        at(ticket, "commit"),
        {"promise": "We will fix it.", "due_at": future(minutes=-5)},
        format="json",
    )

    problem = assert_problem(response, 422, "rule-violation")
    assert list(problem["errors"]) == ["due_at"]
    ticket.refresh_from_db()
    assert ticket.status == Status.APOLOGIZED
    assert not ticket.commitments.exists()


@pytest.mark.parametrize("due_at", ["2030-01-01T10:00:00", "next tuesday", ""])
def test_a_due_time_without_offset_or_unparseable_is_a_400(agent: User, due_at: str) -> None:
    ticket = mishap_for(agent, to="apologized")

    response = client_for(agent).post(
        at(ticket, "commit"), {"promise": "We will fix it.", "due_at": due_at}, format="json"
    )

    problem = assert_problem(response, 400, "validation-error")
    assert list(problem["errors"]) == ["due_at"]
    ticket.refresh_from_db()
    assert ticket.status == Status.APOLOGIZED


def test_a_commitment_with_an_offset_is_kept_in_utc(agent: User) -> None:
    ticket = mishap_for(agent, to="apologized")

    response = client_for(agent).post(
        at(ticket, "commit"),
        {"promise": "We will fix it.", "due_at": "2030-01-01T10:00:00+05:30"},
        format="json",
    )

    assert response.status_code == 200, response.json()
    commitment = ticket.commitments.get()
    assert commitment.due_at.isoformat() == "2030-01-01T04:30:00+00:00"
    assert response.json()["commitments"][0]["promise"] == "We will fix it."


def test_acknowledging_a_mishap_needs_our_part(agent: User) -> None:
    ticket = mishap_for(agent)

    response = client_for(agent).post(
        at(ticket, "acknowledge"), {"message": "We have it.", "our_part": "  "}, format="json"
    )

    problem = assert_problem(response, 422, "rule-violation")
    assert list(problem["errors"]) == ["our_part"]
    ticket.refresh_from_db()
    assert ticket.status == Status.NEW
    assert events_of(ticket) == ["created"]


def test_acknowledging_a_mishap_records_our_part(agent: User) -> None:
    ticket = mishap_for(agent)

    response = client_for(agent).post(
        at(ticket, "acknowledge"),
        {"message": "We have it.", "our_part": "We packed it badly."},
        format="json",
    )

    assert response.status_code == 200, response.json()
    assert response.json()["our_part"] == "We packed it badly."
    assert response.json()["history"][-1]["payload"]["our_part"] == "We packed it badly."


@pytest.mark.parametrize(
    ("to", "name", "body", "field"),
    [
        ("new", "acknowledge", {}, "message"),
        ("new", "acknowledge", {"message": ""}, "message"),
        ("apologized", "commit", {"due_at": "2030-01-01T10:00:00+00:00"}, "promise"),
        ("apologized", "commit", {"promise": "Soon."}, "due_at"),
        ("committed", "resolve", {}, "message"),
        ("rebuilding", "restore", {}, "reason"),
        ("rebuilding", "reopen", {}, "reason"),
        ("new", "acknowledge", {"message": "Hi", "our_part": "x", "status": "x"}, "status"),
    ],
)
def test_a_step_without_its_content_is_a_400_naming_the_field(
    agent: User, to: str, name: str, body: dict[str, Any], field: str
) -> None:
    ticket = mishap_for(agent, to=to)
    before = events_of(ticket)

    response = client_for(agent).post(at(ticket, name), body, format="json")

    problem = assert_problem(response, 400, "validation-error")
    assert list(problem["errors"]) == [field]
    ticket.refresh_from_db()
    assert ticket.status == to
    assert events_of(ticket) == before


@pytest.mark.parametrize(
    ("to", "name", "body", "field"),
    [
        ("acknowledged", "apologize", {"message": "   "}, "message"),
        ("rebuilding", "reopen", {"reason": "  "}, "reason"),
    ],
)
def test_a_step_with_blank_content_is_a_422_naming_the_field(
    agent: User, to: str, name: str, body: dict[str, Any], field: str
) -> None:
    ticket = mishap_for(agent, to=to)
    before = events_of(ticket)

    response = client_for(agent).post(at(ticket, name), body, format="json")

    problem = assert_problem(response, 422, "rule-violation")
    assert list(problem["errors"]) == [field]
    assert events_of(ticket) == before


def test_reopening_a_rebuilding_mishap_asks_for_apology_and_commitment_again(agent: User) -> None:
    ticket = mishap_for(agent, to="rebuilding")

    response = client_for(agent).post(
        at(ticket, "reopen"), {"reason": "It broke again."}, format="json"
    )

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "acknowledged"
    assert body["missing_steps"] == ["apologize", "commit"]
    assert body["available_transitions"] == ["apologize"]
    reopen = next(e for e in body["history"] if e["action"] == "reopen")
    assert reopen["payload"]["reason"] == "It broke again."
    assert body["history"][-1]["action"] == "followups_cancelled"


def test_a_resolved_question_can_be_reopened_with_a_reason(agent: User) -> None:
    ticket = question_for(agent, to="resolved")

    response = client_for(agent).post(
        at(ticket, "reopen"), {"reason": "Still not working."}, format="json"
    )

    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "acknowledged"
    assert response.json()["available_transitions"] == ["resolve"]


def test_a_resolved_question_closes_without_a_reason(agent: User) -> None:
    ticket = question_for(agent, to="resolved")

    response = client_for(agent).post(at(ticket, "close"), {}, format="json")

    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "closed"
    assert response.json()["available_transitions"] == ["reopen"]


def test_an_unknown_transition_is_a_404(agent: User) -> None:
    ticket = question_for(agent)

    response = client_for(agent).post(at(ticket, "escalate"), {}, format="json")

    assert response.status_code == 404
    assert events_of(ticket) == ["created"]


# --- make-mishap --------------------------------------------------------------------


def test_a_new_question_becomes_a_mishap(agent: User) -> None:
    ticket = question_for(agent)

    response = client_for(agent).post(
        at(ticket, "make-mishap"), {"severity": "major"}, format="json"
    )

    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["kind"], body["severity"], body["status"]) == ("mishap", "major", "new")
    assert body["missing_steps"] == ["acknowledge", "apologize", "commit"]
    assert body["history"][-1]["action"] == "converted_to_mishap"
    assert body["history"][-1]["payload"] == {"our_part": "", "severity": "major"}
    assert events_of(ticket) == ["created", "converted_to_mishap"]


def test_an_acknowledged_question_needs_our_part_to_become_a_mishap(agent: User) -> None:
    ticket = question_for(agent, to="acknowledged")

    response = client_for(agent).post(at(ticket, "make-mishap"), {}, format="json")

    problem = assert_problem(response, 422, "rule-violation")
    assert list(problem["errors"]) == ["our_part"]
    ticket.refresh_from_db()
    assert ticket.kind == Kind.QUESTION
    assert "converted_to_mishap" not in events_of(ticket)


def test_an_acknowledged_question_becomes_a_mishap_that_must_apologize_and_commit(
    agent: User,
) -> None:
    ticket = question_for(agent, to="acknowledged")

    response = client_for(agent).post(
        at(ticket, "make-mishap"), {"our_part": "We shipped the wrong size."}, format="json"
    )

    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["kind"], body["status"]) == ("mishap", "acknowledged")
    assert body["our_part"] == "We shipped the wrong size."
    assert body["missing_steps"] == ["apologize", "commit"]
    assert body["available_transitions"] == ["apologize"]
    assert body["history"][-1]["action"] == "converted_to_mishap"
    assert body["history"][-1]["from_status"] == body["history"][-1]["to_status"] == "acknowledged"


@pytest.mark.parametrize("to", ["resolved", "closed"])
def test_an_answered_question_cannot_become_a_mishap(agent: User, to: str) -> None:
    ticket = question_for(agent, to=to)

    response = client_for(agent).post(
        at(ticket, "make-mishap"), {"our_part": "Ours."}, format="json"
    )

    problem = assert_problem(response, 422, "rule-violation")
    assert "reopen" in problem["detail"]
    ticket.refresh_from_db()
    assert ticket.kind == Kind.QUESTION
    assert "converted_to_mishap" not in events_of(ticket)


def test_a_mishap_cannot_become_a_mishap_again(agent: User) -> None:
    ticket = mishap_for(agent)

    response = client_for(agent).post(at(ticket, "make-mishap"), {}, format="json")

    assert_problem(response, 422, "rule-violation")
    assert events_of(ticket) == ["created"]


def test_make_mishap_refuses_an_invalid_severity(agent: User) -> None:
    ticket = question_for(agent)

    response = client_for(agent).post(
        at(ticket, "make-mishap"), {"severity": "dire"}, format="json"
    )

    problem = assert_problem(response, 400, "validation-error")
    assert list(problem["errors"]) == ["severity"]
    ticket.refresh_from_db()
    assert ticket.kind == Kind.QUESTION


# --- Messages -----------------------------------------------------------------------


def test_the_conversation_is_listed_in_order_and_paginated(agent: User) -> None:
    ticket = question_for(agent)
    for n in range(4):
        message_create(ticket=ticket, actor=agent, body=f"Reply {n}", public=n % 2 == 0)
    api = client_for(agent)

    first = api.get(at(ticket, "messages"), {"page_size": 3})
    rest = api.get(first.json()["next"])

    assert first.status_code == 200
    assert first.json()["count"] == 5
    bodies = [m["body"] for m in first.json()["results"] + rest.json()["results"]]
    assert bodies == ["Something went wrong with my order.", *(f"Reply {n}" for n in range(4))]
    assert rest.json()["next"] is None
    assert first.json()["results"][0]["author_kind"] == "customer"
    assert first.json()["results"][1]["author"]["id"] == agent.pk
    assert [m["public"] for m in rest.json()["results"]] == [True, False]


def test_a_public_reply_is_queued_for_the_customer_and_recorded(
    agent: User, django_capture_on_commit_callbacks: Any
) -> None:
    ticket = question_for(agent)

    with django_capture_on_commit_callbacks() as queued:
        response = client_for(agent).post(
            at(ticket, "messages"), {"body": "  We are looking into it.  "}, format="json"
        )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["public"], body["delivery_status"], body["body"]) == (
        True,
        "pending",
        "We are looking into it.",
    )
    message = Message.objects.get(pk=body["id"])
    assert message.author == agent
    assert message.email_message_id
    assert len(queued) == 1
    event = TicketEvent.objects.filter(ticket=ticket).latest("id")
    assert (event.action, event.actor, event.payload) == ("replied", agent, {"message": message.pk})


def test_an_internal_note_is_never_emailed(
    agent: User, django_capture_on_commit_callbacks: Any
) -> None:
    ticket = question_for(agent)

    with django_capture_on_commit_callbacks() as queued:
        response = client_for(agent).post(
            at(ticket, "messages"),
            {"body": "Customer sounds upset.", "public": False},
            format="json",
        )

    assert response.status_code == 201, response.json()
    assert (response.json()["public"], response.json()["delivery_status"]) == (False, "not_sent")
    message = Message.objects.get(pk=response.json()["id"])
    assert message.email_message_id is None
    assert queued == []
    event = TicketEvent.objects.filter(ticket=ticket).latest("id")
    assert (event.action, event.payload) == ("noted", {"message": message.pk})


@pytest.mark.parametrize(
    "body",
    [{}, {"body": ""}, {"body": "   "}, {"body": "Hi", "author": 1}, {"body": "Hi", "public": "x"}],
)
def test_a_message_without_a_body_or_with_bad_fields_is_refused(
    agent: User, body: dict[str, Any]
) -> None:
    ticket = question_for(agent)

    response = client_for(agent).post(at(ticket, "messages"), body, format="json")

    assert response.status_code in (400, 422)
    assert response.json()["errors"]
    assert ticket.messages.count() == 1
    assert events_of(ticket) == ["created"]


def test_a_message_over_the_size_limit_is_refused_naming_the_limit(agent: User) -> None:
    ticket = question_for(agent)

    response = client_for(agent).post(
        at(ticket, "messages"), {"body": "x" * 100_001}, format="json"
    )

    problem = assert_problem(response, 422, "rule-violation")
    assert "100000" in problem["detail"]
    assert ticket.messages.count() == 1


# --- Query counts -------------------------------------------------------------------
# Each page costs the same number of queries whatever the number of rows on it:
# the selectors join and prefetch what the serializers read.

# The caller's permissions (1), then: an agent's queues, the count and the page (list);
# the ticket with its commitments, then its events and restitutions, and the queue
# membership (detail); the ticket, count, and the page with its attachments (messages).
LIST_QUERIES = 4
DETAIL_QUERIES = 5
MESSAGES_QUERIES = 4


@pytest.mark.parametrize("size", [3, 30])
def test_the_list_costs_the_same_queries_whatever_its_size(
    agent: User, queue: Queue, size: int, django_assert_num_queries: Any
) -> None:
    for n in range(size):
        # Each by a different agent, for a different customer: nothing shared to cache.
        TicketFactory(queue=queue, kind=Kind.MISHAP if n % 2 else Kind.QUESTION)
    api = client_for(User.objects.get(pk=agent.pk))

    with django_assert_num_queries(LIST_QUERIES):
        response = api.get(TICKETS)

    assert len(result_ids(response)) == size
    assert len({row["assignee"]["id"] for row in response.json()["results"]}) == size
    assert len({row["customer"]["id"] for row in response.json()["results"]}) == size


def _busy_ticket(queue: Queue, supervisor: User, notes: int) -> Ticket:
    """A mishap of ``queue`` with a commitment, its history, and ``notes`` more
    messages, each by a different supervisor (so no author is fetched twice)."""
    ticket = TicketFactory(actor=supervisor, kind=Kind.MISHAP, queue=queue)
    ticket = advance(ticket, to="committed", actor=supervisor)
    for n in range(notes):
        author = StaffFactory(role=Role.SUPERVISOR)
        message_create(ticket=ticket, actor=author, body=f"Note {n}", public=n % 2 == 0)
    return ticket


@pytest.mark.parametrize("notes", [2, 25])
def test_the_detail_costs_the_same_queries_whatever_the_history(
    agent: User, queue: Queue, supervisor: User, notes: int, django_assert_num_queries: Any
) -> None:
    ticket = _busy_ticket(queue, supervisor, notes)  # the agent sees it through the queue
    api = client_for(User.objects.get(pk=agent.pk))

    with django_assert_num_queries(DETAIL_QUERIES):
        response = api.get(at(ticket))

    assert response.status_code == 200
    assert len(response.json()["history"]) == 4 + notes
    assert len(response.json()["commitments"]) == 1


@pytest.mark.parametrize("notes", [2, 25])
def test_the_conversation_costs_the_same_queries_whatever_its_length(
    agent: User, queue: Queue, supervisor: User, notes: int, django_assert_num_queries: Any
) -> None:
    ticket = _busy_ticket(queue, supervisor, notes)
    api = client_for(User.objects.get(pk=agent.pk))

    with django_assert_num_queries(MESSAGES_QUERIES):
        response = api.get(at(ticket, "messages"))

    assert response.status_code == 200
    # The customer's words, three step messages, and the notes.
    assert response.json()["count"] == 4 + notes


@pytest.mark.django_db
@pytest.mark.parametrize("ticket_id", ["0", "abc", "99999999999999999999", "9223372036854775808"])
def test_a_ticket_id_no_ticket_can_have_is_not_found(agent: User, ticket_id: str) -> None:
    response = client_for(agent).get(f"/api/v1/tickets/{ticket_id}/")
    assert_problem(response, 404, "not-found")


@pytest.mark.django_db
def test_one_detail_query_for_every_caller_still_shows_each_only_theirs(agent: User) -> None:
    """The detail's query is compiled once per kind of caller
    (``tickets.api.detail``): agents alike share it, each with their own id."""
    other = StaffFactory(role=Role.AGENT)
    theirs = TicketFactory(actor=other, queue=QueueFactory(members=[other]))
    mine = TicketFactory(actor=agent)
    supervisor = StaffFactory(role=Role.SUPERVISOR)

    assert client_for(agent).get(f"/api/v1/tickets/{mine.pk}/").json()["id"] == mine.pk
    assert_problem(client_for(agent).get(f"/api/v1/tickets/{theirs.pk}/"), 404, "not-found")
    assert client_for(other).get(f"/api/v1/tickets/{theirs.pk}/").json()["id"] == theirs.pk
    assert client_for(supervisor).get(f"/api/v1/tickets/{theirs.pk}/").json()["id"] == theirs.pk
