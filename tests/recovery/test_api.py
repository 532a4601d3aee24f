"""The recovery endpoints of the REST API (SPEC, "REST API (v1)"): granting
restitution, approvals, voiding, authority and policies, with their status
codes and problem details."""

from decimal import Decimal
from typing import Any

import pytest

from accounts.models import User
from accounts.roles import Role
from recovery.models import ApprovalRequest, AuthorityPolicyChange, Restitution, SpendEntry
from recovery.selectors import authority_remaining
from tests.factories import QueueFactory, StaffFactory, TicketFactory, advance
from tests.helpers import assert_problem, client_for
from tickets.models import Kind, Status, Ticket

pytestmark = pytest.mark.django_db

ME = "/api/v1/authority/me/"
APPROVALS = "/api/v1/approvals/"


def restitutions_of(ticket: Ticket | int) -> str:
    pk = ticket if isinstance(ticket, int) else ticket.pk
    return f"/api/v1/tickets/{pk}/restitutions/"


def policy_of(user: User | int) -> str:
    pk = user if isinstance(user, int) else user.pk
    return f"/api/v1/authority/policies/{pk}/"


def decide(approval_id: int, verb: str) -> str:
    return f"{APPROVALS}{approval_id}/{verb}/"


def void(restitution_id: int) -> str:
    return f"/api/v1/restitutions/{restitution_id}/void/"


def body(**overrides: Any) -> dict[str, Any]:
    return {
        "kind": "refund",
        "amount": "30.00",
        "currency": "USD",
        "reason": "The parcel arrived broken.",
        **overrides,
    }


def policy_body(**overrides: Any) -> dict[str, Any]:
    return {
        "per_incident_limit": "50.00",
        "per_period_limit": "200.00",
        "period": "week",
        "per_customer_limit": "100.00",
        "allowed_kinds": ["refund", "credit", "gift"],
        "currency": "USD",
        **overrides,
    }


def post(user: User, url: str, data: dict[str, Any] | None = None) -> Any:
    return client_for(user).post(url, data or {}, format="json")


@pytest.fixture
def ticket(agent: User) -> Ticket:
    return TicketFactory(kind=Kind.MISHAP, actor=agent)


# --- The acceptance ----------------------------------------------------------


def test_a_supervisor_approves_what_is_above_an_agents_limit_and_pays_for_it(
    agent: User, supervisor: User, ticket: Ticket
) -> None:
    policy = client_for(supervisor).put(policy_of(agent), policy_body(), format="json")
    assert policy.status_code == 200, policy.content

    granted = post(agent, restitutions_of(ticket), body(amount="30.00"))
    assert granted.status_code == 201, granted.content
    assert granted.json()["status"] == "granted"

    pending = post(agent, restitutions_of(ticket), body(amount="40.00"))
    assert pending.status_code == 202, pending.content
    assert pending.json()["status"] == "pending_approval"
    approval_id = pending.json()["approval"]
    assert isinstance(approval_id, int)

    approved = post(supervisor, decide(approval_id, "approve"))
    assert approved.status_code == 200, approved.content
    assert approved.json()["status"] == "approved"
    assert approved.json()["restitution"]["status"] == "approved"

    mine = client_for(agent).get(ME).json()
    assert (mine["period_spent"], mine["period_remaining"]) == ("30.00", "170.00")
    theirs = client_for(supervisor).get(ME).json()
    assert theirs["period_spent"] == "40.00"


# --- Granting ------------------------------------------------------------------------


def test_a_grant_answers_with_the_restitution_as_the_spec_names_it(
    agent: User, ticket: Ticket
) -> None:
    response = post(agent, restitutions_of(ticket), body(amount="12.50", kind="credit"))

    assert response.status_code == 201, response.content
    data = response.json()
    restitution = Restitution.objects.get()
    assert data["id"] == restitution.pk
    assert data["status"] == "granted"
    assert data["amount"] == "12.50"
    assert data["currency"] == "USD"
    assert data["kind"] == "credit"
    assert data["approval"] is None
    assert data["ticket"] == ticket.pk
    assert data["charged_to"] == agent.pk
    assert data["guidance"] is None


def test_a_pending_grant_names_its_approval_and_the_limits(agent: User, ticket: Ticket) -> None:
    response = post(agent, restitutions_of(ticket), body(amount="60.00"))

    assert response.status_code == 202, response.content
    data = response.json()
    approval = ApprovalRequest.objects.get()
    assert data["approval"] == approval.pk
    assert data["charged_to"] is None
    assert approval.limits_exceeded == ["per_incident_limit"]


def test_a_grant_with_the_customers_loss_carries_guidance(agent: User, ticket: Ticket) -> None:
    response = post(agent, restitutions_of(ticket), body(amount="30.00", customer_loss="40.00"))

    assert response.status_code == 201, response.content
    assert response.json()["customer_loss"] == "40.00"
    assert response.json()["guidance"] == {
        "suggested_min": "24.00",
        "suggested_max": "48.00",
        "warning": "",
    }


def test_guidance_warns_when_the_grant_is_above_150_percent_of_the_loss(
    agent: User, ticket: Ticket
) -> None:
    response = post(agent, restitutions_of(ticket), body(amount="40.00", customer_loss="20.00"))

    assert response.status_code == 201, response.content
    guidance = response.json()["guidance"]
    assert (guidance["suggested_min"], guidance["suggested_max"]) == ("12.00", "24.00")
    assert "150%" in guidance["warning"]


def test_a_tickets_restitutions_are_listed_and_shown_on_the_ticket(
    agent: User, ticket: Ticket
) -> None:
    granted = post(agent, restitutions_of(ticket), body(amount="30.00")).json()
    pending = post(agent, restitutions_of(ticket), body(amount="40.00")).json()

    listed = client_for(agent).get(restitutions_of(ticket))
    detail = client_for(agent).get(f"/api/v1/tickets/{ticket.pk}/")

    assert listed.status_code == 200
    assert [(r["id"], r["status"]) for r in listed.json()] == [
        (granted["id"], "granted"),
        (pending["id"], "pending_approval"),
    ]
    assert detail.status_code == 200
    section = detail.json()["restitutions"]
    assert [(r["id"], r["amount"], r["approval"]) for r in section] == [
        (granted["id"], "30.00", None),
        (pending["id"], "40.00", pending["approval"]),
    ]


def test_a_committed_mishaps_detail_names_the_pending_approval_as_missing(
    agent: User, ticket: Ticket
) -> None:
    ticket = advance(ticket, Status.COMMITTED)
    post(agent, restitutions_of(ticket), body(amount="60.00"))

    detail = client_for(agent).get(f"/api/v1/tickets/{ticket.pk}/")
    resolve = post(agent, f"/api/v1/tickets/{ticket.pk}/resolve/", {"message": "Done."})

    assert detail.json()["missing_steps"] == ["settle_pending_approvals"]
    assert "resolve" not in detail.json()["available_transitions"]
    problem = assert_problem(resolve, 409, "transition-not-allowed")
    assert problem["missing_steps"] == ["settle_pending_approvals"]


def test_a_currency_mismatch_is_a_rule_violation(agent: User, ticket: Ticket) -> None:
    response = post(agent, restitutions_of(ticket), body(currency="EUR"))

    problem = assert_problem(response, 422, "rule-violation")
    assert "currency" in problem["errors"]
    assert not Restitution.objects.exists()


def test_a_kind_the_agent_may_not_grant_is_a_rule_violation(agent: User, ticket: Ticket) -> None:
    response = post(agent, restitutions_of(ticket), body(kind="replacement"))

    problem = assert_problem(response, 422, "rule-violation")
    assert "kind" in problem["errors"]
    assert not Restitution.objects.exists()


def test_restitution_on_a_question_is_a_rule_violation(agent: User) -> None:
    question = TicketFactory(actor=agent)

    response = post(agent, restitutions_of(question), body())

    assert_problem(response, 422, "rule-violation")
    assert not Restitution.objects.exists()


@pytest.mark.parametrize(
    "amount", ["10.005", "ten", "", None, "1e400", "12345678901.00", [10], {"value": 10}]
)
def test_a_malformed_amount_is_a_400(agent: User, ticket: Ticket, amount: object) -> None:
    response = post(agent, restitutions_of(ticket), body(amount=amount))

    problem = assert_problem(response, 400, "validation-error")
    assert "amount" in problem["errors"]
    assert not Restitution.objects.exists()


@pytest.mark.parametrize(
    "changes",
    [
        {"kind": "bribe"},
        {"currency": "EURO"},
        {"reason": ""},
        {"customer_loss": "1.234"},
        {"status": "granted"},
    ],
)
def test_a_malformed_grant_is_a_400(agent: User, ticket: Ticket, changes: dict[str, Any]) -> None:
    response = post(agent, restitutions_of(ticket), body(**changes))

    problem = assert_problem(response, 400, "validation-error")
    assert set(changes) <= set(problem["errors"])
    assert not Restitution.objects.exists()


@pytest.mark.parametrize("amount", ["0.00", "-5.00"])
def test_an_amount_that_is_not_positive_is_refused(
    agent: User, ticket: Ticket, amount: str
) -> None:
    response = post(agent, restitutions_of(ticket), body(amount=amount))

    # Either the body's validation or the service's rule may refuse it; both name the field.
    slug = {400: "validation-error", 422: "rule-violation"}.get(response.status_code, "")
    problem = assert_problem(response, response.status_code, slug)
    assert "amount" in problem["errors"]
    assert not Restitution.objects.exists()


def test_a_ticket_outside_the_agents_queues_is_a_404(agent: User) -> None:
    elsewhere = TicketFactory(kind=Kind.MISHAP, queue=QueueFactory())

    granted = post(agent, restitutions_of(elsewhere), body())
    listed = client_for(agent).get(restitutions_of(elsewhere))

    assert_problem(granted, 404, "not-found")
    assert_problem(listed, 404, "not-found")
    assert not Restitution.objects.exists()


@pytest.mark.parametrize("pk", ["99999999999999999999", "9223372036854775808"])
def test_a_grant_on_an_id_no_ticket_can_have_is_a_404(agent: User, pk: str) -> None:
    assert_problem(post(agent, f"/api/v1/tickets/{pk}/restitutions/", body()), 404, "not-found")
    assert not Restitution.objects.exists()


def test_a_reserved_ticket_of_another_assignee_is_a_403(agent: User, supervisor: User) -> None:
    colleague = StaffFactory(role=Role.AGENT)
    queue = QueueFactory(members=[agent, colleague], restrict_to_assignee=True)
    reserved = TicketFactory(kind=Kind.MISHAP, actor=supervisor, queue=queue, assignee=colleague)

    response = post(agent, restitutions_of(reserved), body())

    assert_problem(response, 403, "permission-denied")
    assert not Restitution.objects.exists()


def test_an_anonymous_caller_cannot_grant(api_client: Any, ticket: Ticket) -> None:
    response = api_client.post(restitutions_of(ticket), body(), format="json")

    assert_problem(response, 401, "not-authenticated")
    assert not Restitution.objects.exists()


# --- Void ----------------------------------------------------------------------------


def test_voiding_returns_the_budget(agent: User, ticket: Ticket) -> None:
    granted = post(agent, restitutions_of(ticket), body(amount="50.00")).json()
    assert client_for(agent).get(ME).json()["period_spent"] == "50.00"

    response = post(agent, void(granted["id"]), {"reason": "Wrong ticket."})

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "voided"
    assert response.json()["void_reason"] == "Wrong ticket."
    me = client_for(agent).get(ME).json()
    assert (me["period_spent"], me["period_remaining"]) == ("0.00", "200.00")
    again = post(agent, restitutions_of(ticket), body(amount="50.00"))
    assert again.status_code == 201, again.content


def test_a_void_needs_a_reason(agent: User, ticket: Ticket) -> None:
    granted = post(agent, restitutions_of(ticket), body()).json()

    response = post(agent, void(granted["id"]), {})

    problem = assert_problem(response, 400, "validation-error")
    assert "reason" in problem["errors"]
    assert Restitution.objects.get().status == Restitution.Status.GRANTED


def test_voiding_a_pending_grant_is_a_rule_violation(agent: User, ticket: Ticket) -> None:
    pending = post(agent, restitutions_of(ticket), body(amount="60.00")).json()

    response = post(agent, void(pending["id"]), {"reason": "Never mind."})

    assert_problem(response, 422, "rule-violation")
    assert Restitution.objects.get().status == Restitution.Status.PENDING_APPROVAL


def test_an_agent_cannot_void_what_another_granted_on_a_shared_queue(
    agent: User, supervisor: User
) -> None:
    colleague = StaffFactory(role=Role.AGENT)
    shared = TicketFactory(
        kind=Kind.MISHAP, actor=supervisor, queue=QueueFactory(members=[agent, colleague])
    )
    granted = post(colleague, restitutions_of(shared), body()).json()

    response = post(agent, void(granted["id"]), {"reason": "Not mine."})

    assert_problem(response, 403, "permission-denied")
    assert Restitution.objects.get().status == Restitution.Status.GRANTED


def test_a_restitution_on_a_ticket_the_agent_cannot_see_is_a_404_to_void(
    agent: User, ticket: Ticket
) -> None:
    granted = post(agent, restitutions_of(ticket), body()).json()
    stranger = StaffFactory(role=Role.AGENT)

    response = post(stranger, void(granted["id"]), {"reason": "Curious."})

    assert_problem(response, 404, "not-found")
    assert not SpendEntry.objects.filter(amount__lt=0).exists()


# --- Approvals -----------------------------------------------------------------------


@pytest.fixture
def pending_id(agent: User, ticket: Ticket) -> int:
    response = post(agent, restitutions_of(ticket), body(amount="60.00"))
    assert response.status_code == 202, response.content
    return int(response.json()["approval"])


@pytest.mark.parametrize("verb", ["approve", "reject"])
def test_an_agent_cannot_decide_an_approval(agent: User, pending_id: int, verb: str) -> None:
    colleague = StaffFactory(role=Role.AGENT)

    for who in (agent, colleague):
        response = post(who, decide(pending_id, verb), {"reason": "Looks fine."})
        assert_problem(response, 403, "permission-denied")

    assert ApprovalRequest.objects.get().status == ApprovalRequest.Status.PENDING


def test_rejecting_needs_a_reason(supervisor: User, pending_id: int) -> None:
    for data in ({}, {"reason": ""}):
        response = post(supervisor, decide(pending_id, "reject"), data)
        problem = assert_problem(response, 400, "validation-error")
        assert "reason" in problem["errors"]

    assert ApprovalRequest.objects.get().status == ApprovalRequest.Status.PENDING


def test_a_supervisor_rejects_with_a_reason(agent: User, supervisor: User, pending_id: int) -> None:
    response = post(supervisor, decide(pending_id, "reject"), {"reason": "A voucher will do."})

    assert response.status_code == 200, response.content
    data = response.json()
    assert (data["status"], data["reason"], data["decided_by"]) == (
        "rejected",
        "A voucher will do.",
        supervisor.pk,
    )
    assert data["restitution"]["status"] == "rejected"
    assert client_for(agent).get(ME).json()["period_spent"] == "0.00"


def test_a_decided_approval_cannot_be_decided_again(supervisor: User, pending_id: int) -> None:
    assert post(supervisor, decide(pending_id, "approve")).status_code == 200

    again = post(StaffFactory(role=Role.SUPERVISOR), decide(pending_id, "reject"), {"reason": "No"})

    assert_problem(again, 422, "rule-violation")
    assert ApprovalRequest.objects.get().status == ApprovalRequest.Status.APPROVED


def test_approving_beyond_the_supervisors_own_authority_is_a_rule_violation(
    agent: User, supervisor: User, ticket: Ticket
) -> None:
    pending = post(agent, restitutions_of(ticket), body(amount="600.00")).json()

    response = post(supervisor, decide(pending["approval"], "approve"))

    problem = assert_problem(response, 422, "rule-violation")
    assert problem["limits_exceeded"] == ["per_incident_limit"]
    assert Restitution.objects.get().status == Restitution.Status.PENDING_APPROVAL
    assert authority_remaining(supervisor).period_spent == Decimal("0.00")


def test_an_unknown_approval_is_a_404(supervisor: User) -> None:
    assert_problem(post(supervisor, decide(999_999, "approve")), 404, "not-found")


def test_supervisors_list_every_pending_approval_and_agents_only_their_own(
    agent: User, supervisor: User, ticket: Ticket
) -> None:
    colleague = StaffFactory(role=Role.AGENT)
    theirs_ticket = TicketFactory(kind=Kind.MISHAP, actor=colleague)
    mine = post(agent, restitutions_of(ticket), body(amount="60.00")).json()["approval"]
    decided = post(agent, restitutions_of(ticket), body(amount="70.00")).json()["approval"]
    theirs = post(colleague, restitutions_of(theirs_ticket), body(amount="60.00")).json()[
        "approval"
    ]
    post(supervisor, decide(decided, "reject"), {"reason": "Too much."})

    def ids(user: User, query: str = "?status=pending") -> list[int]:
        response = client_for(user).get(APPROVALS + query)
        assert response.status_code == 200, response.content
        return [row["id"] for row in response.json()["results"]]

    assert ids(supervisor) == [mine, theirs]
    assert ids(agent) == [mine]
    assert ids(colleague) == [theirs]
    assert ids(supervisor, "?status=rejected") == [decided]
    assert ids(agent, "") == [mine, decided]


def test_an_approval_in_the_list_carries_its_restitution_and_limits(
    supervisor: User, pending_id: int
) -> None:
    response = client_for(supervisor).get(APPROVALS + "?status=pending")

    (row,) = response.json()["results"]
    assert row["id"] == pending_id
    assert row["limits_exceeded"] == ["per_incident_limit"]
    assert row["restitution"]["amount"] == "60.00"
    assert row["restitution"]["approval"] == pending_id


def test_an_unknown_status_filter_is_a_400(supervisor: User) -> None:
    response = client_for(supervisor).get(APPROVALS + "?status=maybe")

    problem = assert_problem(response, 400, "validation-error")
    assert "status" in problem["errors"]


# --- Authority and policies ----------------------------------------------------------


def test_authority_me_shows_the_callers_limits_and_what_is_left(
    agent: User, ticket: Ticket
) -> None:
    post(agent, restitutions_of(ticket), body(amount="20.00"))

    response = client_for(agent).get(ME)

    assert response.status_code == 200
    data = response.json()
    assert data["user"] == agent.pk
    assert data["currency"] == "USD"
    assert data["per_incident_limit"] == "50.00"
    assert data["per_period_limit"] == "200.00"
    assert data["per_customer_limit"] == "100.00"
    assert data["period"] == "week"
    assert data["period_spent"] == "20.00"
    assert data["period_remaining"] == "180.00"
    assert "refund" in data["allowed_kinds"]
    assert data["is_default"] is True


def test_a_supervisor_sets_an_agents_policy_and_the_change_is_in_its_history(
    agent: User, supervisor: User
) -> None:
    response = client_for(supervisor).put(
        policy_of(agent), policy_body(per_period_limit="500.00", period="month"), format="json"
    )

    assert response.status_code == 200, response.content
    data = response.json()
    assert data["user"] == agent.pk
    assert (data["per_period_limit"], data["period"], data["is_default"]) == (
        "500.00",
        "month",
        False,
    )
    (change,) = data["history"]
    assert change["changed_by"] == supervisor.pk
    assert change["old"]["is_default"] is True
    assert change["new"]["per_period_limit"] == "500.00"
    me = client_for(agent).get(ME).json()
    assert (me["per_period_limit"], me["period"]) == ("500.00", "month")


def test_putting_the_same_policy_twice_records_one_change(agent: User, supervisor: User) -> None:
    api = client_for(supervisor)

    api.put(policy_of(agent), policy_body(), format="json")
    response = api.put(policy_of(agent), policy_body(), format="json")

    assert response.status_code == 200
    assert len(response.json()["history"]) == 1
    assert AuthorityPolicyChange.objects.filter(user=agent).count() == 1


def test_a_supervisor_reads_an_agents_default_policy(agent: User, supervisor: User) -> None:
    response = client_for(supervisor).get(policy_of(agent))

    assert response.status_code == 200
    assert response.json()["is_default"] is True
    assert response.json()["per_incident_limit"] == "50.00"
    assert response.json()["history"] == []


@pytest.mark.parametrize("method", ["get", "put"])
def test_an_agent_may_neither_read_nor_set_policies(agent: User, method: str) -> None:
    colleague = StaffFactory(role=Role.AGENT)

    for target in (agent, colleague):
        response = getattr(client_for(agent), method)(
            policy_of(target), policy_body(per_period_limit="9999.00"), format="json"
        )
        assert_problem(response, 403, "permission-denied")

    assert not AuthorityPolicyChange.objects.exists()


@pytest.mark.parametrize("target", [Role.SUPERVISOR, Role.ADMIN])
def test_a_supervisor_cannot_set_a_supervisors_or_an_admins_policy(
    supervisor: User, target: Role
) -> None:
    other = StaffFactory(role=target)

    response = client_for(supervisor).put(
        policy_of(other), policy_body(per_period_limit="99999.00"), format="json"
    )

    problem = assert_problem(response, 403, "permission-denied")
    assert "Supervisors set agents' authority" in problem["detail"]
    assert not AuthorityPolicyChange.objects.exists()


def test_an_admin_sets_a_supervisors_policy(admin_staff: User, supervisor: User) -> None:
    response = client_for(admin_staff).put(
        policy_of(supervisor), policy_body(per_period_limit="9000.00"), format="json"
    )

    assert response.status_code == 200
    assert response.json()["per_period_limit"] == "9000.00"


def test_a_supervisor_cannot_set_their_own_policy(supervisor: User) -> None:
    response = client_for(supervisor).put(policy_of(supervisor), policy_body(), format="json")

    assert_problem(response, 403, "permission-denied")
    assert not AuthorityPolicyChange.objects.exists()


@pytest.mark.parametrize(
    "changes",
    [
        {"per_incident_limit": "-1.00"},
        {"per_period_limit": "10.005"},
        {"period": "year"},
        {"allowed_kinds": ["refund", "bribe"]},
        {"currency": "EU"},
        {"is_default": True},
    ],
)
def test_a_malformed_policy_is_a_400_and_changes_nothing(
    agent: User, supervisor: User, changes: dict[str, Any]
) -> None:
    response = client_for(supervisor).put(policy_of(agent), policy_body(**changes), format="json")

    problem = assert_problem(response, 400, "validation-error")
    # An item of a list is named by its path: allowed_kinds.1.
    assert set(changes) <= {name.split(".")[0] for name in problem["errors"]}
    assert not AuthorityPolicyChange.objects.exists()
    assert client_for(agent).get(ME).json()["is_default"] is True


@pytest.mark.parametrize("currency", ["E1R", "ZZZ", "xxx", "eur", "XXX", "DEM", 978])
def test_a_currency_not_in_iso_4217_use_is_a_400(
    agent: User, supervisor: User, currency: object
) -> None:
    response = client_for(supervisor).put(
        policy_of(agent), policy_body(currency=currency), format="json"
    )

    problem = assert_problem(response, 400, "validation-error")
    assert list(problem["errors"]) == ["currency"]
    assert "not an ISO 4217 currency code in use" in problem["errors"]["currency"][0]
    assert not AuthorityPolicyChange.objects.exists()


def test_the_policy_of_someone_who_is_not_staff_is_a_404(supervisor: User) -> None:
    customer_like = User.objects.create_user(username="not-staff")

    response = client_for(supervisor).get(policy_of(customer_like))

    assert_problem(response, 404, "not-found")
