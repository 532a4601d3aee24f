"""Bad input a signed-in user can send is a 4xx problem, never a 500 (issue 13)."""

import json
import re
from datetime import UTC, datetime

import pytest
from django.test import Client

from accounts.models import User
from tests.factories import QueueFactory, TicketFactory, advance
from tests.helpers import assert_problem, client_for, console_client
from tickets.models import Commitment, Kind

pytestmark = pytest.mark.django_db

REFUSAL = "contains a NUL character or an unpaired surrogate"


@pytest.mark.parametrize("param", ["search", "queue"])
def test_a_nul_in_a_ticket_list_filter_is_400(agent: User, param: str) -> None:
    response = client_for(agent).get("/api/v1/tickets/", {param: "a\x00b"})

    body = assert_problem(response, 400, "malformed-request")
    assert body["detail"] == f"The query parameter {param!r} {REFUSAL}, which text may not hold."


def test_a_nul_in_the_console_queue_filter_is_the_400_page(agent: User) -> None:
    response = console_client(agent).get("/console/tickets/ticket/?status=%00")

    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")
    assert b"Bad request" in response.content


def test_a_nul_in_a_header_is_400(agent: User) -> None:
    response = client_for(agent).get("/api/v1/me/", HTTP_X_NOTE="a\x00b")

    body = assert_problem(response, 400, "malformed-request")
    assert "header X-Note" in body["detail"]


def test_a_nul_in_a_console_form_field_is_refused_by_the_form(agent: User) -> None:
    ticket = TicketFactory(actor=agent)

    response = console_client(agent).post(
        f"/console/tickets/ticket/{ticket.pk}/step/acknowledge/", {"message": "hi\x00"}
    )

    assert "Null characters are not allowed." in response.content.decode()
    assert not ticket.messages.filter(body__startswith="hi").exists()


def test_a_lone_surrogate_in_a_json_key_is_400(agent: User) -> None:
    response = client_for(agent).patch(
        "/api/v1/me/", data='{"\\ud800": 1}', content_type="application/json"
    )

    body = assert_problem(response, 400, "malformed-request")
    assert body["detail"] == f"The body {REFUSAL} in a member name, which text may not hold."


@pytest.mark.parametrize("escaped", ["\\u0000", "\\udfff"])
def test_a_nul_or_lone_surrogate_in_a_json_value_is_400_naming_the_field(
    agent: User, escaped: str
) -> None:
    response = client_for(agent).patch(
        "/api/v1/me/",
        data='{"first_name": "Ada' + escaped + '"}',
        content_type="application/json",
    )

    body = assert_problem(response, 400, "malformed-request")
    assert "in first_name" in body["detail"]
    agent.refresh_from_db()
    assert not agent.first_name.startswith("Ada")


def test_metrics_for_the_year_9999_are_400_naming_the_range(supervisor: User) -> None:
    response = client_for(supervisor).get(
        "/api/v1/metrics/trust/", {"start": "9999-12-31", "end": "9999-12-31"}
    )

    body = assert_problem(response, 400, "validation-error")
    assert body["errors"] == {"start": ["Choose a date from 2000-01-01 to 2100-12-31."]}


def test_options_on_a_policy_is_200(supervisor: User, agent: User) -> None:
    response = client_for(supervisor).options(f"/api/v1/authority/policies/{agent.pk}/")

    assert response.status_code == 200
    assert "PUT" in response.json()["actions"]


def test_commit_refuses_a_due_time_more_than_five_years_ahead(agent: User) -> None:
    ticket = advance(TicketFactory(actor=agent, kind=Kind.MISHAP), "apologized")

    response = client_for(agent).post(
        f"/api/v1/tickets/{ticket.pk}/commit/",
        {"promise": "A new vase.", "due_at": "9999-12-31T23:59:59+00:00"},
        format="json",
    )

    body = assert_problem(response, 422, "rule-violation")
    assert body["detail"] == "The due time must be at most 5 years ahead."
    assert body["errors"] == {"due_at": ["The due time must be at most 5 years ahead."]}
    assert not Commitment.objects.filter(ticket=ticket).exists()


def test_the_console_commit_form_refuses_the_same_far_due_time(agent: User) -> None:
    agent.time_zone = "Asia/Tokyo"
    agent.save(update_fields=["time_zone"])
    ticket = advance(TicketFactory(actor=agent, kind=Kind.MISHAP), "apologized")
    client = console_client(agent)

    response = client.post(
        f"/console/tickets/ticket/{ticket.pk}/step/commit/",
        {"promise": "A new vase.", "due_at": "9999-12-31T23:59"},
    )

    assert "at most 5 years ahead" in response.content.decode()
    assert not Commitment.objects.filter(ticket=ticket).exists()
    assert client.get(f"/console/tickets/ticket/{ticket.pk}/change/").status_code == 200


def test_a_due_time_within_five_years_is_kept(agent: User) -> None:
    ticket = advance(TicketFactory(actor=agent, kind=Kind.MISHAP), "apologized")
    due = datetime.now(UTC).replace(microsecond=0, year=datetime.now(UTC).year + 4)

    response = client_for(agent).post(
        f"/api/v1/tickets/{ticket.pk}/commit/",
        {"promise": "A new vase.", "due_at": due.isoformat()},
        format="json",
    )

    assert response.status_code == 200, json.dumps(response.json())
    assert Commitment.objects.get(ticket=ticket).due_at == due


def test_a_list_with_a_queue_filter_still_works(agent: User) -> None:
    queue = QueueFactory(members=[agent])
    TicketFactory(actor=agent, queue=queue)

    response = client_for(agent).get("/api/v1/tickets/", {"queue": queue.slug})

    assert response.status_code == 200
    assert response.json()["count"] == 1


def test_plain_pages_still_render(agent: User) -> None:
    assert Client().get("/problems/not-found/").status_code == 200


@pytest.mark.parametrize(
    ("due_at", "status"),
    [
        ("2030-01-01T12:99:00Z", 400),
        (1893456000, 400),
        ("9999-12-31T23:59:59-05:00", 422),
        ("0001-01-01T00:00:00+05:00", 422),
    ],
)
def test_an_impossible_or_unstorable_due_time_is_a_4xx(
    agent: User, due_at: object, status: int
) -> None:
    ticket = advance(TicketFactory(actor=agent, kind=Kind.MISHAP), "apologized")

    response = client_for(agent).post(
        f"/api/v1/tickets/{ticket.pk}/commit/",
        {"promise": "A new vase.", "due_at": due_at},
        format="json",
    )

    body = assert_problem(
        response, status, "validation-error" if status == 400 else "rule-violation"
    )
    assert list(body["errors"]) == ["due_at"]


@pytest.mark.parametrize("param", ["start", "end"])
def test_an_empty_metrics_date_is_a_400(supervisor: User, param: str) -> None:
    response = client_for(supervisor).get("/api/v1/metrics/trust/", {param: ""})

    body = assert_problem(response, 400, "validation-error")
    assert list(body["errors"]) == [param]


@pytest.mark.parametrize(
    "params", [{"start": "2026-02-01", "end": "2026-01-01"}, {"start": "2001-01-01"}]
)
def test_a_metrics_range_backwards_or_too_long_is_a_422(
    supervisor: User, params: dict[str, str]
) -> None:
    response = client_for(supervisor).get("/api/v1/metrics/trust/", params)

    body = assert_problem(response, 422, "rule-violation")
    assert list(body["errors"]) == ["start"]


def test_options_on_every_operation_is_200(admin_staff: User) -> None:
    schema = Client().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    client = client_for(admin_staff)

    for path in schema["paths"]:
        url = re.sub(r"\{[^}]+\}", str(admin_staff.pk), path)
        assert client.options(url).status_code == 200, path


@pytest.mark.parametrize("start", ["20260101", "2026-1-5", "2026-01-01\n"])
def test_a_metrics_date_not_written_yyyy_mm_dd_is_a_400(supervisor: User, start: str) -> None:
    response = client_for(supervisor).get("/api/v1/metrics/trust/", {"start": start})

    body = assert_problem(response, 400, "validation-error")
    assert list(body["errors"]) == ["start"]
