"""The supervisor's approvals queue in the console: who may see it, deciding
through the page (one call to ``approval_decide`` each), clear errors for
what the service refuses, pagination and a fixed number of queries."""

from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import User
from accounts.roles import Role
from recovery.models import ApprovalRequest, Restitution
from recovery.services import restitution_grant
from tests.factories import StaffFactory, TicketFactory, advance
from tests.helpers import console_client, count_queries
from tickets.models import Kind, Status

pytestmark = pytest.mark.django_db

APPROVALS = reverse("console:approvals")


def decide(approval: ApprovalRequest, decision: str) -> str:
    return reverse("console:approval_decide", args=[approval.pk, decision])


def request_above_limits(
    agent: User, *, amount: str = "80.00", loss: str | None = None
) -> ApprovalRequest:
    """A restitution above the agent's per-incident limit (50.00 by default)."""
    ticket = TicketFactory(actor=agent, assignee=agent, kind=Kind.MISHAP)
    ticket = advance(ticket, to=Status.COMMITTED, actor=agent)
    restitution = restitution_grant(
        ticket=ticket,
        actor=agent,
        kind="credit",
        amount=amount,
        currency="USD",
        reason="The plan was cancelled by mistake.",
        customer_loss=loss,
    )
    assert restitution.status == Restitution.Status.PENDING_APPROVAL
    return restitution.approval


# --- Who may see it ----------------------------------------------------------------


def test_anonymous_visitors_are_asked_to_sign_in() -> None:
    response = Client().get(APPROVALS)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("console:login"))


def test_agents_are_refused_and_do_not_see_it_in_their_menu(agent: User) -> None:
    approval = request_above_limits(agent)
    client = console_client(agent)

    assert client.get(APPROVALS).status_code == 403
    assert client.post(decide(approval, "approve")).status_code == 403
    menu = client.get(reverse("console:tickets_ticket_changelist")).context["console_menu"]
    assert "Approvals" not in {item["label"] for item in menu}
    approval.refresh_from_db()
    assert approval.status == ApprovalRequest.Status.PENDING


def test_supervisors_see_the_queue_and_the_pending_count_in_the_menu(
    supervisor: User, agent: User
) -> None:
    request_above_limits(agent)

    response = console_client(supervisor).get(APPROVALS)

    assert response.status_code == 200
    assert "Approvals (1)" in {item["label"] for item in response.context["console_menu"]}


# --- What a supervisor sees ----------------------------------------------------------


def test_a_pending_request_shows_what_it_takes_to_decide(supervisor: User, agent: User) -> None:
    approval = request_above_limits(agent, amount="80.00", loss="60.00")
    ticket = approval.restitution.ticket

    response = console_client(supervisor).get(APPROVALS)

    body = response.content.decode()
    assert reverse("console:tickets_ticket_change", args=[ticket.pk]) in body
    assert ticket.reference in body
    assert ticket.customer.email in body
    assert "Credit · 80.00 USD" in body
    assert "The plan was cancelled by mistake." in body
    assert "133% of it" in body
    assert "36.00 to 72.00 USD" in body  # 60 to 120% of the loss
    assert "limit per incident" in body
    assert "per_incident_limit" not in body
    assert "200.00 USD left this week" in body  # the agent's remaining authority
    assert "waiting" in body
    row = response.context["rows"][0]
    assert row.remaining.period_remaining == Decimal("200.00")


def test_pending_requests_come_oldest_first(supervisor: User, agent: User) -> None:
    first = request_above_limits(agent)
    second = request_above_limits(agent)

    response = console_client(supervisor).get(APPROVALS)

    assert [row.approval.pk for row in response.context["rows"]] == [first.pk, second.pk]


def test_with_nothing_pending_the_page_says_so(supervisor: User) -> None:
    response = console_client(supervisor).get(APPROVALS)

    assert "Nothing waits for you" in response.content.decode()


def test_a_supervisor_cannot_decide_their_own_request(supervisor: User, agent: User) -> None:
    own = request_above_limits(supervisor, amount="600.00")  # above 500.00 per incident

    client = console_client(supervisor)
    body = client.get(APPROVALS).content.decode()
    response = client.post(decide(own, "approve"))

    assert "Your own request" in body
    assert response.status_code == 400
    assert "cannot decide your own request" in response.content.decode()
    own.refresh_from_db()
    assert own.status == ApprovalRequest.Status.PENDING


# --- Deciding ------------------------------------------------------------------------


def test_approving_through_the_page(supervisor: User, agent: User) -> None:
    approval = request_above_limits(agent)

    response = console_client(supervisor).post(
        decide(approval, "approve"), {"note": "Fair, given the trouble."}, follow=True
    )

    approval.refresh_from_db()
    assert approval.status == ApprovalRequest.Status.APPROVED
    assert approval.decided_by == supervisor
    assert approval.reason == "Fair, given the trouble."
    assert approval.restitution.status == Restitution.Status.APPROVED
    assert approval.restitution.charged_to == supervisor
    assert response.redirect_chain[-1][0] == APPROVALS
    assert "Approved: Credit of 80.00 USD" in response.content.decode()


def test_rejecting_needs_a_reason(supervisor: User, agent: User) -> None:
    approval = request_above_limits(agent)
    client = console_client(supervisor)

    refused = client.post(decide(approval, "reject"), {"reason": "  "})

    assert refused.status_code == 400
    assert "Say why you reject it" in refused.content.decode()
    approval.refresh_from_db()
    assert approval.status == ApprovalRequest.Status.PENDING

    done = client.post(decide(approval, "reject"), {"reason": "A gift fits better."}, follow=True)

    approval.refresh_from_db()
    assert approval.status == ApprovalRequest.Status.REJECTED
    assert approval.reason == "A gift fits better."
    assert approval.restitution.status == Restitution.Status.REJECTED
    assert "Rejected: Credit of 80.00 USD" in done.content.decode()


def test_deciding_what_another_supervisor_just_decided_says_so(
    supervisor: User, agent: User
) -> None:
    approval = request_above_limits(agent)
    colleague = StaffFactory(role=Role.SUPERVISOR)
    console_client(colleague).post(decide(approval, "reject"), {"reason": "Too much."})

    response = console_client(supervisor).post(decide(approval, "approve"))

    assert response.status_code == 400
    assert "This request was already rejected." in response.content.decode()
    approval.refresh_from_db()
    assert approval.status == ApprovalRequest.Status.REJECTED
    assert approval.decided_by == colleague


def test_an_unknown_request_or_decision_is_not_found(supervisor: User, agent: User) -> None:
    approval = request_above_limits(agent)
    client = console_client(supervisor)

    assert client.post(decide(approval, "shrug")).status_code == 404
    assert (
        client.post(reverse("console:approval_decide", args=[999_999, "approve"])).status_code
        == 404
    )


def test_the_decided_tab_shows_who_decided_when_and_how_fast(supervisor: User, agent: User) -> None:
    approved = request_above_limits(agent)
    rejected = request_above_limits(agent)
    pending = request_above_limits(agent)
    client = console_client(supervisor)
    client.post(decide(approved, "approve"))
    client.post(decide(rejected, "reject"), {"reason": "Not this time."})

    decided = client.get(APPROVALS, {"status": "decided"})
    only_rejected = client.get(APPROVALS, {"status": "rejected"})

    shown = [row.approval.pk for row in decided.context["rows"]]
    assert shown == [rejected.pk, approved.pk]  # the latest decision first
    assert pending.pk not in shown
    body = decided.content.decode()
    assert supervisor.username in body or supervisor.get_full_name() in body
    assert "Not this time." in body
    assert "Turnaround" in body
    assert [row.approval.pk for row in only_rejected.context["rows"]] == [rejected.pk]


# --- Size -----------------------------------------------------------------------------


def test_the_queue_is_paginated_by_25(supervisor: User) -> None:
    agent = StaffFactory(role=Role.AGENT)
    for _ in range(26):
        request_above_limits(agent)
    client = console_client(supervisor)

    first = client.get(APPROVALS)
    second = client.get(APPROVALS, {"p": 2})

    assert len(first.context["rows"]) == 25
    assert len(second.context["rows"]) == 1
    assert "Page 1 of 2" in first.content.decode()


@pytest.mark.parametrize("tab", ["pending", "decided"])
def test_the_queue_costs_the_same_queries_whatever_its_size(supervisor: User, tab: str) -> None:
    client = console_client(supervisor)

    def add_one() -> None:
        approval = request_above_limits(StaffFactory(role=Role.AGENT), loss="40.00")
        if tab == "decided":
            client.post(decide(approval, "reject"), {"reason": "No."})

    add_one()
    few = count_queries(client, APPROVALS, {"status": tab})
    for _ in range(9):
        add_one()
    many = count_queries(client, APPROVALS, {"status": tab})

    assert many == few
