"""The pages whose queries are compiled, read from prepared statements on a
kept connection (core.prepared), are those read without: the console's
ticket page (its ticket, history, restitutions, conversation, menus, saved
replies and spend counters), the API's detail, and a grant."""

import re
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import User
from recovery.models import ApprovalRequest, Restitution
from recovery.services import restitution_grant
from tests.factories import TicketFactory, advance
from tests.helpers import client_for, console_client, ticket_page
from tickets.models import Alert, Kind, Status, Ticket
from tickets.services.saved_replies import saved_reply_create

pytestmark = pytest.mark.django_db

# What differs between two reads of one page: the CSRF token, the signed
# link's time, the customer's clock.
_VOLATILE = re.compile(
    r"csrfmiddlewaretoken\" value=\"[^\"]+|/case/[^\"]+|Their time</dt><dd>[^<]+"
)


def _page(client: Client, ticket: Ticket) -> str:
    response = client.get(ticket_page(ticket))
    assert response.status_code == 200
    return _VOLATILE.sub("", response.content.decode())


def _detail(client: APIClient, ticket: Ticket) -> dict[str, Any]:
    detail: dict[str, Any] = client.get(f"/api/v1/tickets/{ticket.pk}/").json()
    detail["customer_trust"].pop("as_of")  # the moment of the read
    return detail


def _prepared() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [statement for (statement,) in cursor.fetchall()]


@pytest.fixture
def mishap(agent: User, supervisor: User) -> Ticket:
    ticket = advance(TicketFactory(actor=agent, kind=Kind.MISHAP), to=Status.COMMITTED)
    saved_reply_create(actor=supervisor, title="Hello", step="reply", body="Hello {reference}.")
    return ticket


def test_the_ticket_page_and_the_api_detail_read_the_same_prepared(
    agent: User, mishap: Ticket, monkeypatch: pytest.MonkeyPatch
) -> None:
    console, api = console_client(agent), client_for(agent)
    plain_page, plain_detail = _page(console, mishap), _detail(api, mishap)

    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 60)
    for _ in range(7):  # past the five runs after which a generic plan may be used
        assert _page(console, mishap) == plain_page
        assert _detail(api, mishap) == plain_detail

    prepared = _prepared()
    for table in (
        "tickets_ticket",
        "tickets_message",
        "tickets_savedreply",
        "recovery_spendcounter",
    ):
        assert any(f'FROM "{table}"' in statement for statement in prepared), table


def test_a_grant_on_a_kept_connection(
    agent: User, mishap: Ticket, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 60)
    client = console_client(agent)
    url = reverse("console:ticket_restitution", args=[mishap.pk])

    for amount in ("5.00", "7.00"):
        response = client.post(
            url, {"kind": "gift", "amount": amount, "currency": "USD", "reason": "Flowers."}
        )
        assert response.status_code == 302

    granted = mishap.restitutions.filter(status=Restitution.Status.GRANTED)
    assert sorted(granted.values_list("amount", flat=True)) == [Decimal("5.00"), Decimal("7.00")]
    assert "Left for you this week: <strong>188.00</strong> of 200.00 USD" in _page(client, mishap)
    # Every row the grant writes, and its charge, by a prepared statement.
    prepared = _prepared()
    for table in (
        "recovery_restitution",
        "recovery_spendentry",
        "tickets_ticketevent",
        "recovery_spendcounter",
    ):
        assert any(re.search(rf'INSERT INTO "?{table}"?', statement) for statement in prepared), (
            table
        )


def test_a_request_for_approval_on_a_kept_connection(
    agent: User, mishap: Ticket, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 60)

    requested = restitution_grant(
        ticket=mishap,
        actor=agent,
        kind="refund",
        amount="900.00",
        currency="USD",
        reason="A whole new espresso machine.",
    )

    assert requested.status == Restitution.Status.PENDING_APPROVAL
    approval = ApprovalRequest.objects.get(restitution=requested)
    assert approval.limits_exceeded == [
        "per_incident_limit",
        "per_customer_limit",
        "per_period_limit",
    ]
    assert Alert.objects.filter(ticket=mishap, kind=Alert.Kind.APPROVAL_REQUESTED).exists()
    prepared = _prepared()
    for table in ("recovery_restitution", "recovery_approvalrequest", "tickets_alert"):
        assert any(f'INSERT INTO "{table}"' in statement for statement in prepared), table
