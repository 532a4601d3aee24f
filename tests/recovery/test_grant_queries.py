"""What a grant costs the database, as production runs it: outside any test
transaction (so no savepoint of the test's own is counted), by an API token,
with an Idempotency-Key; the same whatever the ticket's and the agent's
history."""

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts.models import User
from accounts.services import staff_issue_token
from recovery.models import Restitution, SpendCounter
from recovery.services import restitution_grant
from tests.factories import TicketFactory
from tickets.models import Kind, Ticket

pytestmark = pytest.mark.django_db(transaction=True)

# The caller by token with their groups, permissions and policy; BEGIN; the
# ticket, found among those they may see and locked; its counters as they
# stand (no lock); the restitution, its ledger line and its event; the
# webhook endpoints; the idempotency record with the response; last, the
# charge (the counters locked and raised in one statement); COMMIT.
GRANT_QUERIES = 11
# Over a limit by the counters as they stand: nothing is charged, nothing
# locked; the restitution, the approval request, its event; the alert to the
# supervisors (the alert, who they are, its recipients, its email in the
# outbox): none of it is asked of a grant within limits.
PENDING_QUERIES = 13


def _grant(client: APIClient, ticket: Ticket, amount: str) -> tuple[int, list[str]]:
    with CaptureQueriesContext(connection) as captured:
        response = client.post(
            f"/api/v1/tickets/{ticket.pk}/restitutions/",
            {"kind": "gift", "amount": amount, "currency": "USD", "reason": "Sorry."},
            format="json",
            headers={"Idempotency-Key": uuid.uuid4().hex},
        )
    assert response.status_code in (201, 202), response.content
    return response.status_code, [query["sql"] for query in captured.captured_queries]


@pytest.mark.parametrize("history", [0, 12])
def test_a_grant_costs_the_same_queries_whatever_the_history(
    agent: User, history: int, supervisor: User
) -> None:
    ticket = TicketFactory(kind=Kind.MISHAP, actor=agent)
    for _ in range(history):
        other = TicketFactory(kind=Kind.MISHAP, actor=agent, customer_email=ticket.customer.email)
        restitution_grant(
            ticket=other, actor=agent, kind="gift", amount="1.00", currency="USD", reason="."
        )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {staff_issue_token(user=agent)}")
    # The ticket's first grant: the charge creates its counter, and the
    # counters' ids are written on the restitution after it.
    status, first = _grant(client, ticket, "1.00")
    assert status == 201
    assert len(first) == GRANT_QUERIES + 1, "\n".join(first)
    assert "recovery_spendcounter AS counter" in first[-3]

    status, granted = _grant(client, ticket, "1.00")
    assert status == 201
    assert len(granted) == GRANT_QUERIES, "\n".join(granted)
    # The budget is locked by the last statement before COMMIT, so it is held
    # for no other write of the grant's.
    assert "recovery_spendcounter AS counter" in granted[-2], granted[-2]
    assert granted[-1] == "COMMIT"

    status, pending = _grant(client, ticket, "49.00")  # above the agent's per-incident limit
    assert status == 202
    assert len(pending) == PENDING_QUERIES, "\n".join(pending)
    assert not any("recovery_spendcounter AS counter" in sql for sql in pending)
    assert Restitution.objects.filter(ticket=ticket).count() == 3
    granted_amounts = Restitution.objects.filter(ticket=ticket, status="granted")
    assert SpendCounter.objects.get(
        scope=SpendCounter.Scope.TICKET, subject_id=ticket.pk
    ).spent == (sum(r.amount for r in granted_amounts))
