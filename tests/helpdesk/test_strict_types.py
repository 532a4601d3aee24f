"""Types are strict: money only as decimal strings, text only as strings,
booleans only true/false, page sizes within their limit (issue 13)."""

from typing import Any

import pytest

from accounts.models import User
from recovery.models import Restitution
from tests.factories import TicketFactory
from tests.helpers import assert_problem, client_for
from tickets.models import Kind, Message, Ticket

pytestmark = pytest.mark.django_db

GRANT = {"kind": "refund", "amount": "30.00", "currency": "USD", "reason": "Broken."}
NEW_TICKET = {
    "subject": "Broken vase",
    "body": "It arrived in pieces.",
    "customer_email": "maria@example.com",
    "customer_name": "Maria",
}


@pytest.mark.parametrize("amount", [1.5, 30, True])
def test_an_amount_as_a_json_number_is_a_400_naming_the_field(agent: User, amount: object) -> None:
    ticket = TicketFactory(actor=agent, kind=Kind.MISHAP)

    response = client_for(agent).post(
        f"/api/v1/tickets/{ticket.pk}/restitutions/", {**GRANT, "amount": amount}, format="json"
    )

    body = assert_problem(response, 400, "validation-error")
    assert body["errors"] == {"amount": ['Send the amount as a decimal string, such as "12.50".']}
    assert not Restitution.objects.exists()


@pytest.mark.parametrize("amount", [" 30", "30.", ".5", "+30", "3e1", "١٢", "30\n"])
def test_an_amount_string_outside_the_documented_pattern_is_a_400(agent: User, amount: str) -> None:
    ticket = TicketFactory(actor=agent, kind=Kind.MISHAP)

    response = client_for(agent).post(
        f"/api/v1/tickets/{ticket.pk}/restitutions/", {**GRANT, "amount": amount}, format="json"
    )

    assert_problem(response, 400, "validation-error")
    assert not Restitution.objects.exists()


@pytest.mark.parametrize("field", ["subject", "body", "customer_name"])
@pytest.mark.parametrize("value", [123, 1.5, True, ["text"]])
def test_text_as_anything_but_a_string_is_a_400(agent: User, field: str, value: Any) -> None:
    response = client_for(agent).post(
        "/api/v1/tickets/", {**NEW_TICKET, field: value}, format="json"
    )

    body = assert_problem(response, 400, "validation-error")
    assert list(body["errors"]) == [field]
    assert not Ticket.objects.exists()


@pytest.mark.parametrize("public", ["yes", "true", 0, 1, None])
def test_a_boolean_as_anything_but_true_or_false_is_a_400(agent: User, public: object) -> None:
    ticket = TicketFactory(actor=agent)
    before = Message.objects.count()

    response = client_for(agent).post(
        f"/api/v1/tickets/{ticket.pk}/messages/", {"body": "Hi", "public": public}, format="json"
    )

    body = assert_problem(response, 400, "validation-error")
    assert list(body["errors"]) == ["public"]
    assert Message.objects.count() == before


def test_a_boolean_false_makes_an_internal_note(agent: User) -> None:
    ticket = TicketFactory(actor=agent)

    response = client_for(agent).post(
        f"/api/v1/tickets/{ticket.pk}/messages/", {"body": "Hi", "public": False}, format="json"
    )

    assert response.status_code == 201
    assert response.json()["public"] is False


@pytest.mark.parametrize("url", ["/api/v1/tickets/", "/api/v1/staff/"])
@pytest.mark.parametrize("page_size", ["-5", "0", "abc", "201", "1.5", " 5", "5\n"])
def test_a_page_size_out_of_range_is_a_400_naming_the_limit(
    admin_staff: User, url: str, page_size: str
) -> None:
    response = client_for(admin_staff).get(url, {"page_size": page_size})

    body = assert_problem(response, 400, "validation-error")
    assert body["errors"] == {
        "page_size": [f"Give a whole number from 1 to 200; {page_size!r} is not."]
    }


def test_a_cursor_page_size_is_checked_the_same_way(agent: User) -> None:
    response = client_for(agent).get(
        "/api/v1/tickets/", {"pagination": "cursor", "page_size": "500"}
    )

    assert_problem(response, 400, "validation-error")


@pytest.mark.parametrize("page_size", ["1", "200"])
def test_page_sizes_at_the_limits_are_accepted(agent: User, page_size: str) -> None:
    TicketFactory.create_batch(2, actor=agent)

    response = client_for(agent).get("/api/v1/tickets/", {"page_size": page_size})

    assert response.status_code == 200
    assert len(response.json()["results"]) == min(int(page_size), 2)


@pytest.mark.parametrize("value", ["1 ", "+1", "1_0", "x", "1\n"])
@pytest.mark.parametrize("param", ["customer", "assignee"])
def test_an_id_filter_that_is_not_a_whole_number_is_a_400(
    agent: User, param: str, value: str
) -> None:
    response = client_for(agent).get("/api/v1/tickets/", {param: value})

    body = assert_problem(response, 400, "validation-error")
    assert list(body["errors"]) == [param]


def test_a_ticket_without_a_queue_lists_a_null_queue(agent: User) -> None:
    TicketFactory(actor=agent)

    response = client_for(agent).get("/api/v1/tickets/")

    assert response.json()["results"][0]["queue"] is None


def test_a_queue_that_does_not_exist_is_a_422_naming_the_field(agent: User) -> None:
    response = client_for(agent).post(
        "/api/v1/tickets/", {**NEW_TICKET, "queue": "nowhere"}, format="json"
    )

    body = assert_problem(response, 422, "rule-violation")
    assert list(body["errors"]) == ["queue"]
    assert not Ticket.objects.exists()


def test_an_error_inside_a_list_is_named_by_its_path(supervisor: User, agent: User) -> None:
    response = client_for(supervisor).put(
        f"/api/v1/authority/policies/{agent.pk}/",
        {
            "per_incident_limit": "50.00",
            "per_period_limit": "200.00",
            "period": "week",
            "per_customer_limit": "100.00",
            "allowed_kinds": ["refund", {}],
            "currency": "USD",
        },
        format="json",
    )

    body = assert_problem(response, 400, "validation-error")
    assert list(body["errors"]) == ["allowed_kinds.1"]
    assert all(isinstance(m, str) for m in body["errors"]["allowed_kinds.1"])
