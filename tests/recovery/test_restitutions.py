"""Restitution services (SPEC, "Authority and restitution"): granting within
authority, approval above it, voiding, the ledger and counters that keep the
budgets, the guard on resolving, and guidance from the customer's loss."""

from decimal import Decimal
from typing import Any

import pytest
from django.db.models import Q

from accounts.models import User
from accounts.roles import Role
from core.errors import NotPermitted, RuleViolation, StepsMissing
from recovery.models import (
    ApprovalRequest,
    Restitution,
    SpendCounter,
    SpendEntry,
    WebhookEndpoint,
)
from recovery.selectors import authority_remaining
from recovery.services import (
    approval_decide,
    authority_policy_set,
    restitution_grant,
    restitution_void,
)
from recovery.services.restitutions import guidance_for
from tests.factories import QueueFactory, StaffFactory, TicketFactory, advance
from tickets import workflow
from tickets.models import Alert, Kind, Status, Ticket, TicketEvent
from tickets.services import ticket_resolve

pytestmark = pytest.mark.django_db

Scope = SpendCounter.Scope


def mishap(agent: User, **fields: Any) -> Ticket:
    return TicketFactory(kind=Kind.MISHAP, actor=agent, **fields)


def grant(ticket: Ticket, actor: User, amount: object = "30.00", **fields: Any) -> Restitution:
    values = {
        "kind": "refund",
        "currency": "USD",
        "reason": "The parcel arrived broken.",
        **fields,
    }
    return restitution_grant(ticket=ticket, actor=actor, amount=amount, **values)


def spent(scope: str, subject_id: int) -> Decimal:
    """What the counters of one scope hold, across periods (zero when none).
    A customer's spend is counted per day, week and month alike: read the week's."""
    counters = SpendCounter.objects.filter(scope=scope, subject_id=subject_id)
    if scope == SpendCounter.Scope.CUSTOMER:
        counters = counters.filter(period="week")
    return sum(counters.values_list("spent", flat=True), Decimal("0.00"))


def set_policy(user: User, actor: User, **overrides: Any) -> None:
    values = {
        "per_incident_limit": "100.00",
        "per_period_limit": "1000.00",
        "period": "week",
        "per_customer_limit": "1000.00",
        "allowed_kinds": ["refund", "credit", "gift"],
        "currency": "USD",
        **overrides,
    }
    authority_policy_set(user=user, actor=actor, values=values)


def actions(ticket: Ticket) -> list[str]:
    return list(
        TicketEvent.objects.filter(ticket=ticket).order_by("id").values_list("action", flat=True)
    )


def assert_waits_for_approval(
    restitution: Restitution, *, agent: User, limits: list[str], supervisors: list[User]
) -> ApprovalRequest:
    """Pending, with an approval request, an alert to the supervisors and an
    event; nothing charged and nothing in the ledger."""
    assert restitution.status == Restitution.Status.PENDING_APPROVAL
    assert restitution.charged_to is None
    assert restitution.counter_ids == []
    approval = ApprovalRequest.objects.get(restitution=restitution)
    assert approval.status == ApprovalRequest.Status.PENDING
    assert approval.requested_by == agent
    assert sorted(approval.limits_exceeded) == sorted(limits)
    assert not SpendEntry.objects.filter(restitution=restitution).exists()
    alert = Alert.objects.filter(
        ticket=restitution.ticket, kind=Alert.Kind.APPROVAL_REQUESTED
    ).get()
    assert set(alert.recipients.all()) == set(supervisors)
    event = TicketEvent.objects.filter(
        ticket=restitution.ticket, action="restitution_requested"
    ).get()
    assert event.actor == agent
    assert event.payload["approval"] == approval.pk
    assert sorted(event.payload["limits_exceeded"]) == sorted(limits)
    return approval


# --- Granting within authority -------------------------------------------------------


def test_a_grant_within_every_limit_is_granted_at_once(agent: User) -> None:
    ticket = mishap(agent)

    restitution = grant(ticket, agent, "30.00", customer_loss="40.00")

    restitution.refresh_from_db()
    assert restitution.status == Restitution.Status.GRANTED
    assert restitution.amount == Decimal("30.00")
    assert restitution.customer_loss == Decimal("40.00")
    assert restitution.agent == agent
    assert restitution.charged_to == agent
    assert restitution.customer == ticket.customer
    assert not ApprovalRequest.objects.exists()
    assert not Alert.objects.filter(kind=Alert.Kind.APPROVAL_REQUESTED).exists()


def test_a_grant_writes_a_ledger_line_and_an_event(agent: User) -> None:
    ticket = mishap(agent)

    restitution = grant(ticket, agent, "30.00")

    entry = SpendEntry.objects.get(restitution=restitution)
    assert (entry.user, entry.ticket, entry.customer) == (agent, ticket, ticket.customer)
    assert (entry.amount, entry.currency) == (Decimal("30.00"), "USD")
    event = TicketEvent.objects.get(ticket=ticket, action="restitution_granted")
    assert event.actor == agent
    assert event.payload == {
        "restitution": restitution.pk,
        "kind": "refund",
        "amount": "30.00",
        "currency": "USD",
        "status": "granted",
    }


def test_a_grant_adds_to_the_ticket_customer_and_granter_counters(agent: User) -> None:
    ticket = mishap(agent)

    grant(ticket, agent, "30.00")
    grant(ticket, agent, "15.50")

    assert spent(Scope.TICKET, ticket.pk) == Decimal("45.50")
    assert spent(Scope.CUSTOMER, ticket.customer_id) == Decimal("45.50")
    assert spent(Scope.GRANTER, agent.pk) == Decimal("45.50")
    left = authority_remaining(agent)
    assert (left.period_spent, left.period_remaining) == (Decimal("45.50"), Decimal("154.50"))


def test_a_grant_records_the_counters_it_was_charged_to_first_or_later(agent: User) -> None:
    """The first grant on a ticket has its counter created by the charge,
    after the restitution is written; a later one finds them all."""
    ticket = mishap(agent)

    first = grant(ticket, agent, "3.00")
    later = grant(ticket, agent, "4.00")

    charged = SpendCounter.objects.filter(
        Q(scope=Scope.TICKET, subject_id=ticket.pk)
        | Q(scope=Scope.CUSTOMER, subject_id=ticket.customer_id)
        | Q(scope=Scope.GRANTER, subject_id=agent.pk)
    )
    assert charged.count() == 5  # the ticket, the customer's day, week and month, the agent
    for restitution in (first, later):
        restitution.refresh_from_db()
        assert sorted(restitution.counter_ids) == sorted(charged.values_list("pk", flat=True))


def test_a_grant_up_to_exactly_the_limit_is_granted(agent: User) -> None:
    ticket = mishap(agent)

    grant(ticket, agent, "20.00")
    exactly = grant(ticket, agent, "30.00")

    assert exactly.status == Restitution.Status.GRANTED
    assert spent(Scope.TICKET, ticket.pk) == Decimal("50.00")


def test_a_lower_case_currency_is_the_same_currency(agent: User) -> None:
    restitution = grant(mishap(agent), agent, "10.00", currency="usd")

    assert (restitution.status, restitution.currency) == (Restitution.Status.GRANTED, "USD")


def test_restitution_is_granted_during_the_rebuilding_period(agent: User) -> None:
    ticket = advance(mishap(agent), Status.REBUILDING)

    restitution = grant(ticket, agent, "10.00")

    assert restitution.status == Restitution.Status.GRANTED


# --- Above a limit: a supervisor decides ---------------------------------------------


def test_a_second_grant_past_the_per_incident_limit_waits_for_approval(
    agent: User, supervisor: User
) -> None:
    ticket = mishap(agent)  # agent defaults: 50 per incident, 200 per week, 100 per customer
    grant(ticket, agent, "30.00")

    second = grant(ticket, agent, "30.00")

    assert_waits_for_approval(
        second, agent=agent, limits=["per_incident_limit"], supervisors=[supervisor]
    )
    assert spent(Scope.TICKET, ticket.pk) == Decimal("30.00")
    assert authority_remaining(agent).period_spent == Decimal("30.00")


def test_grants_on_several_tickets_past_the_per_period_limit_wait_for_approval(
    agent: User, supervisor: User
) -> None:
    set_policy(agent, supervisor, per_incident_limit="100.00", per_period_limit="100.00")
    grant(mishap(agent), agent, "60.00")
    other_ticket = mishap(agent)  # another customer

    second = grant(other_ticket, agent, "60.00")

    assert_waits_for_approval(
        second, agent=agent, limits=["per_period_limit"], supervisors=[supervisor]
    )
    assert spent(Scope.TICKET, other_ticket.pk) == Decimal("0.00")
    assert spent(Scope.CUSTOMER, other_ticket.customer_id) == Decimal("0.00")
    assert authority_remaining(agent).period_spent == Decimal("60.00")


def test_two_agents_granting_to_one_customer_share_the_per_customer_limit(
    agent: User, supervisor: User
) -> None:
    colleague = StaffFactory(role=Role.AGENT)
    for person in (agent, colleague):
        set_policy(person, supervisor, per_incident_limit="100.00", per_customer_limit="100.00")
    mine = mishap(agent, customer_email="lena@example.com")
    theirs = mishap(colleague, customer_email="lena@example.com")
    assert mine.customer_id == theirs.customer_id
    grant(mine, agent, "60.00")

    second = grant(theirs, colleague, "60.00")

    assert_waits_for_approval(
        second, agent=colleague, limits=["per_customer_limit"], supervisors=[supervisor]
    )
    assert spent(Scope.CUSTOMER, mine.customer_id) == Decimal("60.00")
    assert authority_remaining(colleague).period_spent == Decimal("0.00")


def test_a_grant_above_several_limits_lists_every_one(agent: User, supervisor: User) -> None:
    ticket = mishap(agent)

    restitution = grant(ticket, agent, "250.00")

    assert_waits_for_approval(
        restitution,
        agent=agent,
        limits=["per_incident_limit", "per_customer_limit", "per_period_limit"],
        supervisors=[supervisor],
    )
    alert = Alert.objects.get(kind=Alert.Kind.APPROVAL_REQUESTED)
    assert (
        "above their limit per incident (50.00 USD), their limit per customer per week "
        "(100.00 USD) and their limit per week (200.00 USD)." in alert.detail
    )
    assert not SpendCounter.objects.filter(spent__gt=0).exists()


def test_the_approval_alert_goes_to_every_supervisor_and_not_to_agents(agent: User) -> None:
    supervisors = [StaffFactory(role=Role.SUPERVISOR), StaffFactory(role=Role.SUPERVISOR)]
    StaffFactory(role=Role.AGENT)

    restitution = grant(mishap(agent), agent, "80.00")

    alert = Alert.objects.get(kind=Alert.Kind.APPROVAL_REQUESTED)
    assert set(alert.recipients.all()) == set(supervisors)
    assert "80.00 USD" in alert.detail
    assert "above their limit per incident (50.00 USD)." in alert.detail
    assert "per_incident_limit" not in alert.detail
    assert restitution.reason in alert.detail


def test_a_pending_grant_does_not_use_up_authority(agent: User) -> None:
    ticket = mishap(agent)
    grant(ticket, agent, "60.00")  # pending: above 50 per incident

    within = grant(ticket, agent, "50.00")

    assert within.status == Restitution.Status.GRANTED


def test_a_grant_over_one_limit_leaves_every_counter_as_it_was(
    agent: User,
    supervisor: User,
    django_capture_on_commit_callbacks: Any,
) -> None:
    """The charge adds the amount to the counters within their limits and
    refuses the rest in one statement: over the payer's limit, the ticket's
    and the customer's counters it had raised (or created) go back, and
    nothing is written as granted: the restitution waits for approval."""
    set_policy(agent, supervisor, per_incident_limit="100.00", per_period_limit="100.00")
    endpoint = WebhookEndpoint.objects.create(
        url="http://127.0.0.1:9/hooks", secret="s3cret", events=["restitution.granted"]
    )
    grant(mishap(agent), agent, "60.00")
    ticket = mishap(agent)  # another customer

    with django_capture_on_commit_callbacks() as queued:
        late = grant(ticket, agent, "60.00")

    assert_waits_for_approval(
        late, agent=agent, limits=["per_period_limit"], supervisors=[supervisor]
    )
    assert not Restitution.objects.filter(ticket=ticket).exclude(pk=late.pk).exists()
    assert not SpendEntry.objects.filter(ticket=ticket).exists()
    assert actions(ticket).count("restitution_granted") == 0
    assert endpoint.deliveries.count() == 1  # the first grant's
    assert spent(Scope.TICKET, ticket.pk) == Decimal("0.00")
    assert spent(Scope.CUSTOMER, ticket.customer_id) == Decimal("0.00")
    assert authority_remaining(agent).period_spent == Decimal("60.00")
    assert len(queued) == 1  # the supervisors' alert, no webhook


# --- Refused outright ----------------------------------------------------------------


@pytest.mark.parametrize("kind", ["replacement", "other", "bribe"])
def test_a_kind_the_policy_does_not_allow_is_refused_and_nothing_is_written(
    agent: User, kind: str
) -> None:
    ticket = mishap(agent)
    before = actions(ticket)

    with pytest.raises(RuleViolation) as refused:
        grant(ticket, agent, "10.00", kind=kind)

    assert "kind" in refused.value.extra["errors"]
    assert not Restitution.objects.exists()
    assert not ApprovalRequest.objects.exists()
    assert not SpendEntry.objects.exists()
    assert not SpendCounter.objects.filter(spent__gt=0).exists()
    assert actions(ticket) == before


def test_a_currency_other_than_the_policys_is_refused_and_nothing_is_written(
    agent: User,
) -> None:
    ticket = mishap(agent)
    before = actions(ticket)

    with pytest.raises(RuleViolation, match="USD") as refused:
        grant(ticket, agent, "10.00", currency="EUR")

    assert "currency" in refused.value.extra["errors"]
    assert not Restitution.objects.exists()
    assert not SpendEntry.objects.exists()
    assert actions(ticket) == before


def test_a_currency_mismatch_is_refused_even_above_the_limits(
    agent: User, supervisor: User
) -> None:
    with pytest.raises(RuleViolation):
        grant(mishap(agent), agent, "500.00", currency="EUR")

    assert not Restitution.objects.exists()
    assert not ApprovalRequest.objects.exists()
    assert not Alert.objects.filter(kind=Alert.Kind.APPROVAL_REQUESTED).exists()


@pytest.mark.parametrize(
    "amount",
    ["10.005", "0.001", "0", "0.00", "-5.00", "1000000.01", "ten", "Infinity", "NaN"],
)
def test_an_amount_that_is_not_positive_money_with_two_decimals_is_refused(
    agent: User, amount: str
) -> None:
    with pytest.raises(RuleViolation) as refused:
        grant(mishap(agent), agent, amount)

    assert "amount" in refused.value.extra["errors"]
    assert not Restitution.objects.exists()
    assert not SpendCounter.objects.filter(spent__gt=0).exists()


def test_a_negative_customer_loss_is_refused(agent: User) -> None:
    with pytest.raises(RuleViolation) as refused:
        grant(mishap(agent), agent, "10.00", customer_loss="-1.00")

    assert "customer_loss" in refused.value.extra["errors"]
    assert not Restitution.objects.exists()


def test_a_grant_needs_a_reason(agent: User) -> None:
    with pytest.raises(RuleViolation) as refused:
        grant(mishap(agent), agent, "10.00", reason="   ")

    assert "reason" in refused.value.extra["errors"]
    assert not Restitution.objects.exists()


@pytest.mark.parametrize(
    ("kind", "status"),
    [
        (Kind.QUESTION, Status.NEW),
        (Kind.QUESTION, Status.RESOLVED),
        (Kind.QUESTION, Status.CLOSED),
        (Kind.MISHAP, Status.RESTORED),
    ],
)
def test_restitution_is_refused_on_a_question_or_a_finished_ticket(
    agent: User, kind: str, status: str
) -> None:
    ticket = advance(TicketFactory(kind=kind, actor=agent), status)

    with pytest.raises(RuleViolation, match="mishap that is open or recovering"):
        grant(ticket, agent, "10.00")

    assert not Restitution.objects.exists()
    assert not SpendCounter.objects.filter(spent__gt=0).exists()


def test_an_agent_who_may_not_work_the_ticket_cannot_grant_on_it(agent: User) -> None:
    elsewhere = mishap(StaffFactory(role=Role.AGENT))

    with pytest.raises(NotPermitted):
        grant(elsewhere, agent, "10.00")

    assert not Restitution.objects.exists()


def test_a_queue_member_grants_on_a_ticket_of_their_queue(agent: User, supervisor: User) -> None:
    queue = QueueFactory(members=[agent])
    ticket = TicketFactory(kind=Kind.MISHAP, actor=supervisor, queue=queue)

    restitution = grant(ticket, agent, "10.00")

    assert restitution.status == Restitution.Status.GRANTED


# --- Void ----------------------------------------------------------------------------


def test_voiding_returns_the_budget_so_a_grant_refused_for_lack_of_it_then_succeeds(
    agent: User,
) -> None:
    ticket = mishap(agent)
    first = grant(ticket, agent, "50.00")
    assert grant(ticket, agent, "50.00").status == Restitution.Status.PENDING_APPROVAL

    restitution_void(restitution=first, actor=agent, reason="Granted on the wrong ticket.")
    again = grant(ticket, agent, "50.00")

    assert again.status == Restitution.Status.GRANTED
    assert spent(Scope.TICKET, ticket.pk) == Decimal("50.00")
    assert authority_remaining(agent).period_spent == Decimal("50.00")


def test_voiding_writes_a_negative_ledger_line_and_an_event(agent: User) -> None:
    ticket = mishap(agent)
    restitution = grant(ticket, agent, "30.00")

    voided = restitution_void(restitution=restitution, actor=agent, reason="Customer declined.")

    assert voided.status == Restitution.Status.VOIDED
    assert (voided.voided_by, voided.void_reason) == (agent, "Customer declined.")
    assert voided.voided_at is not None
    assert list(
        SpendEntry.objects.filter(restitution=restitution).values_list("user", "amount")
    ) == [(agent.pk, Decimal("30.00")), (agent.pk, Decimal("-30.00"))]
    assert spent(Scope.TICKET, ticket.pk) == Decimal("0.00")
    assert spent(Scope.CUSTOMER, ticket.customer_id) == Decimal("0.00")
    assert spent(Scope.GRANTER, agent.pk) == Decimal("0.00")
    event = TicketEvent.objects.get(ticket=ticket, action="restitution_voided")
    assert event.payload["reason"] == "Customer declined."


def test_a_void_needs_a_reason(agent: User) -> None:
    restitution = grant(mishap(agent), agent, "30.00")

    with pytest.raises(RuleViolation):
        restitution_void(restitution=restitution, actor=agent, reason=" ")

    restitution.refresh_from_db()
    assert restitution.status == Restitution.Status.GRANTED
    assert authority_remaining(agent).period_spent == Decimal("30.00")


def test_only_a_restitution_in_force_can_be_voided(agent: User, supervisor: User) -> None:
    ticket = mishap(agent)
    pending = grant(ticket, agent, "60.00")
    rejected = grant(ticket, agent, "70.00")
    approval_decide(approval=rejected.approval, actor=supervisor, approve=False, reason="Too much.")
    voided = grant(ticket, agent, "10.00")
    restitution_void(restitution=voided, actor=agent, reason="Duplicate.")

    for restitution in (pending, rejected, voided):
        before = Restitution.objects.get(pk=restitution.pk).status
        with pytest.raises(RuleViolation, match="cannot be voided"):
            restitution_void(restitution=restitution, actor=supervisor, reason="Tidy up.")
        assert Restitution.objects.get(pk=restitution.pk).status == before

    assert SpendEntry.objects.filter(amount__lt=0).count() == 1
    assert spent(Scope.TICKET, ticket.pk) == Decimal("0.00")


def test_another_agent_cannot_void_a_grant(agent: User) -> None:
    ticket = mishap(agent)
    restitution = grant(ticket, agent, "30.00")
    colleague = StaffFactory(role=Role.AGENT)

    with pytest.raises(NotPermitted):
        restitution_void(restitution=restitution, actor=colleague, reason="Not mine, but.")

    restitution.refresh_from_db()
    assert restitution.status == Restitution.Status.GRANTED
    assert spent(Scope.TICKET, ticket.pk) == Decimal("30.00")


def test_a_supervisor_voids_an_agents_grant_and_the_agents_budget_returns(
    agent: User, supervisor: User
) -> None:
    restitution = grant(mishap(agent), agent, "30.00")

    restitution_void(restitution=restitution, actor=supervisor, reason="Policy breach.")

    assert authority_remaining(agent).period_spent == Decimal("0.00")
    assert SpendEntry.objects.filter(amount=Decimal("-30.00")).get().user == agent


def test_voiding_an_approved_grant_returns_the_approvers_budget(
    agent: User, supervisor: User
) -> None:
    ticket = mishap(agent)
    pending = grant(ticket, agent, "80.00")
    approval_decide(approval=pending.approval, actor=supervisor, approve=True)

    # The granter may void what a supervisor paid for.
    restitution_void(restitution=pending, actor=agent, reason="Customer returned it.")

    assert authority_remaining(supervisor).period_spent == Decimal("0.00")
    assert authority_remaining(agent).period_spent == Decimal("0.00")
    assert spent(Scope.TICKET, ticket.pk) == Decimal("0.00")
    assert SpendEntry.objects.filter(amount=Decimal("-80.00")).get().user == supervisor


# --- Approval ------------------------------------------------------------------------


def test_approving_charges_the_approvers_authority_not_the_agents(
    agent: User, supervisor: User
) -> None:
    ticket = mishap(agent)
    grant(ticket, agent, "30.00")
    pending = grant(ticket, agent, "40.00")

    decided = approval_decide(approval=pending.approval, actor=supervisor, approve=True)

    pending.refresh_from_db()
    assert decided.status == ApprovalRequest.Status.APPROVED
    assert (decided.decided_by, decided.decided_at is not None) == (supervisor, True)
    assert pending.status == Restitution.Status.APPROVED
    assert pending.charged_to == supervisor
    assert authority_remaining(agent).period_spent == Decimal("30.00")
    assert authority_remaining(supervisor).period_spent == Decimal("40.00")
    assert spent(Scope.TICKET, ticket.pk) == Decimal("70.00")
    entry = SpendEntry.objects.get(restitution=pending)
    assert (entry.user, entry.amount) == (supervisor, Decimal("40.00"))


def test_a_decision_is_recorded_and_the_agent_is_told(agent: User, supervisor: User) -> None:
    ticket = mishap(agent)
    pending = grant(ticket, agent, "60.00")

    approval_decide(approval=pending.approval, actor=supervisor, approve=True, reason="Fair.")

    assert actions(ticket)[-1] == "restitution_approved"
    alert = Alert.objects.get(kind=Alert.Kind.APPROVAL_DECIDED)
    assert list(alert.recipients.all()) == [agent]
    assert "approved" in alert.detail


def test_approval_is_refused_when_the_approvers_own_authority_is_short(
    agent: User, supervisor: User
) -> None:
    ticket = mishap(agent)
    pending = grant(ticket, agent, "600.00")  # supervisor defaults: 500 per incident

    with pytest.raises(RuleViolation, match="Your own authority") as refused:
        approval_decide(approval=pending.approval, actor=supervisor, approve=True)

    assert refused.value.detail == (
        "Your own authority does not cover this: it is above your limit per incident (500.00 USD)."
    )
    assert refused.value.extra["limits_exceeded"] == ["per_incident_limit"]  # for the API
    pending.refresh_from_db()
    assert pending.status == Restitution.Status.PENDING_APPROVAL
    assert pending.charged_to is None
    assert ApprovalRequest.objects.get(pk=pending.approval.pk).status == "pending"
    assert not SpendEntry.objects.exists()
    assert not SpendCounter.objects.filter(spent__gt=0).exists()
    assert "restitution_approved" not in actions(ticket)


def test_approval_is_refused_for_a_kind_the_approver_may_not_grant(
    agent: User, supervisor: User, admin_staff: User
) -> None:
    set_policy(supervisor, admin_staff, allowed_kinds=["refund"], per_incident_limit="500.00")
    pending = grant(mishap(agent), agent, "60.00", kind="gift")

    with pytest.raises(RuleViolation):
        approval_decide(approval=pending.approval, actor=supervisor, approve=True)

    pending.refresh_from_db()
    assert pending.status == Restitution.Status.PENDING_APPROVAL
    assert not SpendEntry.objects.exists()


def test_an_agent_cannot_decide_a_request(agent: User) -> None:
    pending = grant(mishap(agent), agent, "60.00")
    colleague = StaffFactory(role=Role.AGENT)

    for approve in (True, False):
        with pytest.raises(NotPermitted):
            approval_decide(
                approval=pending.approval, actor=colleague, approve=approve, reason="No."
            )

    assert ApprovalRequest.objects.get().status == ApprovalRequest.Status.PENDING


@pytest.mark.parametrize("approve", [True, False])
def test_a_supervisor_cannot_decide_their_own_request(
    agent: User, supervisor: User, admin_staff: User, approve: bool
) -> None:
    set_policy(supervisor, admin_staff, per_incident_limit="20.00")
    pending = grant(mishap(agent), supervisor, "30.00")
    assert pending.status == Restitution.Status.PENDING_APPROVAL

    with pytest.raises(NotPermitted, match="your own request"):
        approval_decide(approval=pending.approval, actor=supervisor, approve=approve, reason="Ok")

    assert ApprovalRequest.objects.get().status == ApprovalRequest.Status.PENDING
    other = StaffFactory(role=Role.SUPERVISOR)
    decided = approval_decide(approval=pending.approval, actor=other, approve=approve, reason="Ok")
    assert decided.decided_by == other


@pytest.mark.parametrize("reason", ["", "   "])
def test_rejecting_needs_a_reason(agent: User, supervisor: User, reason: str) -> None:
    pending = grant(mishap(agent), agent, "60.00")

    with pytest.raises(RuleViolation) as refused:
        approval_decide(approval=pending.approval, actor=supervisor, approve=False, reason=reason)

    assert "reason" in refused.value.extra["errors"]
    assert ApprovalRequest.objects.get().status == ApprovalRequest.Status.PENDING


def test_rejecting_charges_nothing_and_keeps_the_reason(agent: User, supervisor: User) -> None:
    ticket = mishap(agent)
    pending = grant(ticket, agent, "60.00")

    decided = approval_decide(
        approval=pending.approval, actor=supervisor, approve=False, reason="A voucher is enough."
    )

    pending.refresh_from_db()
    assert (decided.status, decided.reason) == ("rejected", "A voucher is enough.")
    assert pending.status == Restitution.Status.REJECTED
    assert pending.charged_to is None
    assert not SpendEntry.objects.exists()
    assert not SpendCounter.objects.filter(spent__gt=0).exists()
    assert actions(ticket)[-1] == "restitution_rejected"
    alert = Alert.objects.get(kind=Alert.Kind.APPROVAL_DECIDED)
    assert list(alert.recipients.all()) == [agent]
    assert "A voucher is enough." in alert.detail


@pytest.mark.parametrize("first", [True, False])
@pytest.mark.parametrize("then", [True, False])
def test_a_decided_request_cannot_be_decided_again(
    agent: User, supervisor: User, first: bool, then: bool
) -> None:
    pending = grant(mishap(agent), agent, "60.00")
    approval_decide(approval=pending.approval, actor=supervisor, approve=first, reason="Decided.")
    other = StaffFactory(role=Role.SUPERVISOR)
    decided = ApprovalRequest.objects.get()

    with pytest.raises(RuleViolation, match="already"):
        approval_decide(approval=decided, actor=other, approve=then, reason="Again.")

    decided.refresh_from_db()
    assert decided.decided_by == supervisor
    assert decided.reason == "Decided."
    assert SpendEntry.objects.count() == (1 if first else 0)
    assert authority_remaining(other).period_spent == Decimal("0.00")


# --- A pending approval holds back resolution ----------------------------------------


@pytest.mark.parametrize("approve", [True, False])
def test_a_pending_approval_blocks_resolving_until_it_is_decided(
    agent: User, supervisor: User, approve: bool
) -> None:
    ticket = advance(mishap(agent), Status.COMMITTED)
    pending = grant(ticket, agent, "60.00")
    assert workflow.steps_to_resolve(ticket) == ["settle_pending_approvals"]

    with pytest.raises(StepsMissing) as refused:
        ticket_resolve(ticket=ticket, actor=agent, message="The replacement arrived.")

    assert refused.value.missing_steps == ["settle_pending_approvals"]
    assert Ticket.objects.get(pk=ticket.pk).status == Status.COMMITTED

    approval_decide(approval=pending.approval, actor=supervisor, approve=approve, reason="Done.")
    resolved = ticket_resolve(ticket=ticket, actor=agent, message="The replacement arrived.")

    assert resolved.status == Status.REBUILDING


def test_the_checklist_names_a_pending_approval_before_the_commitment_too(agent: User) -> None:
    ticket = advance(mishap(agent), Status.ACKNOWLEDGED)
    grant(ticket, agent, "60.00")

    assert workflow.steps_to_resolve(ticket) == [
        "apologize",
        "commit",
        "settle_pending_approvals",
    ]


def test_granted_and_voided_restitutions_do_not_block_resolving(agent: User) -> None:
    ticket = advance(mishap(agent), Status.COMMITTED)
    grant(ticket, agent, "20.00")
    restitution_void(restitution=grant(ticket, agent, "10.00"), actor=agent, reason="Twice.")

    resolved = ticket_resolve(ticket=ticket, actor=agent, message="All done.")

    assert resolved.status == Status.REBUILDING


# --- Guidance ------------------------------------------------------------------------


def test_guidance_suggests_60_to_120_percent_of_the_loss() -> None:
    guidance = guidance_for(amount=Decimal("50.00"), loss=Decimal("80.00"), currency="USD")

    assert guidance is not None
    assert (guidance.suggested_min, guidance.suggested_max) == (Decimal("48.00"), Decimal("96.00"))
    assert guidance.warning == ""


@pytest.mark.parametrize(
    ("amount", "warns"),
    [("150.00", False), ("150.01", True), ("400.00", True), ("120.00", False)],
)
def test_guidance_warns_only_above_150_percent_of_the_loss(amount: str, warns: bool) -> None:
    guidance = guidance_for(amount=Decimal(amount), loss=Decimal("100.00"), currency="USD")

    assert guidance is not None
    assert bool(guidance.warning) is warns
    if warns:
        assert "150%" in guidance.warning


def test_guidance_rounds_to_the_currencys_units() -> None:
    cents = guidance_for(amount=Decimal("10.00"), loss=Decimal("33.33"), currency="USD")
    yen = guidance_for(amount=Decimal("1000"), loss=Decimal("1001"), currency="JPY")

    assert cents is not None
    assert yen is not None
    assert (cents.suggested_min, cents.suggested_max) == (Decimal("20.00"), Decimal("40.00"))
    assert (yen.suggested_min, yen.suggested_max) == (Decimal("601.00"), Decimal("1201.00"))


@pytest.mark.parametrize("loss", [None, Decimal("0.00")])
def test_there_is_no_guidance_without_a_loss(loss: Decimal | None) -> None:
    assert guidance_for(amount=Decimal("500.00"), loss=loss, currency="USD") is None


def test_a_supervisors_approved_grant_counts_toward_the_customers_limit(
    agent: User, supervisor: User
) -> None:
    first = mishap(agent, customer_email="omar@example.com")
    second = mishap(agent, customer_email="omar@example.com")
    pending = grant(first, agent, "80.00")  # above 50 per incident
    approval_decide(approval=pending.approval, actor=supervisor, approve=True)

    # 80 already granted to this customer: 40 more passes the agent's 100 per customer.
    over = grant(second, agent, "40.00")

    assert over.status == Restitution.Status.PENDING_APPROVAL
    assert over.approval.limits_exceeded == ["per_customer_limit"]


def test_a_restitution_cannot_be_approved_once_the_ticket_is_restored(
    agent: User, supervisor: User
) -> None:
    ticket = advance(TicketFactory(kind="mishap", actor=agent), to="rebuilding")
    pending = restitution_grant(
        ticket=ticket,
        actor=agent,
        kind="refund",
        amount="90.00",
        currency="USD",
        reason="Over the incident limit.",
    )
    from tickets.services import ticket_restore

    ticket_restore(ticket=ticket, actor=agent, reason="Plan done.")

    with pytest.raises(RuleViolation, match="can only be rejected now"):
        approval_decide(approval=pending.approval, actor=supervisor, approve=True)
    decided = approval_decide(
        approval=pending.approval, actor=supervisor, approve=False, reason="Too late."
    )
    assert decided.status == "rejected"
