"""Simultaneous grants by one agent, through the real API on PostgreSQL: the
spend counters' charge (one statement, the counters locked in one order)
must let exactly as much through as the limits allow, whatever the
interleaving (SPEC, "Authority and restitution": limits hold under
concurrency)."""

import threading
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection, transaction
from django.db.models import Sum

from accounts.models import User
from recovery.models import ApprovalRequest, Restitution, SpendCounter, SpendEntry
from recovery.services import authority_policy_set, restitution_grant
from tests.factories import TicketFactory
from tests.helpers import client_for
from tickets.models import Kind, Ticket, TicketEvent

ALL_KINDS = ["refund", "credit", "gift", "discount", "fee_waiver"]
HIGH = "100000.00"
PERIOD = "month"
JOIN_TIMEOUT = 60


def set_policy(
    *, agent: User, supervisor: User, per_incident: str, per_period: str, per_customer: str
) -> None:
    authority_policy_set(
        user=agent,
        actor=supervisor,
        values={
            "per_incident_limit": per_incident,
            "per_period_limit": per_period,
            "period": PERIOD,
            "per_customer_limit": per_customer,
            "allowed_kinds": ALL_KINDS,
            "currency": "USD",
        },
    )


def mishaps(agent: User, count: int, customers: int) -> list[Ticket]:
    return [
        TicketFactory(
            kind=Kind.MISHAP,
            actor=agent,
            customer_email=f"race-customer{n % customers}@example.com",
        )
        for n in range(count)
    ]


def grant_in_parallel(
    agent: User, grants: list[tuple[int, str]], barrier: threading.Barrier | None = None
) -> list[tuple[int, Any]]:
    """POST every (ticket id, amount) at the same moment, each from its own
    thread with its own database connection; returns (status, body) pairs.
    Pass a ``barrier`` to release them together with other threads."""
    barrier = barrier or threading.Barrier(len(grants))
    results: list[tuple[int, Any]] = []
    # One User instance per thread, so no permission cache is shared.
    users = [User.objects.get(pk=agent.pk) for _ in grants]

    def grant(user: User, ticket_id: int, amount: str) -> None:
        client = client_for(user)
        try:
            barrier.wait(timeout=30)
            response = client.post(
                f"/api/v1/tickets/{ticket_id}/restitutions/",
                {"kind": "credit", "amount": amount, "currency": "USD", "reason": "Race."},
                format="json",
            )
            results.append((response.status_code, response.json()))
        finally:
            connection.close()

    threads = [
        threading.Thread(target=grant, args=(user, ticket_id, amount), daemon=True)
        for user, (ticket_id, amount) in zip(users, grants, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=JOIN_TIMEOUT)
    assert not any(thread.is_alive() for thread in threads), "a grant did not finish in time"
    assert len(results) == len(grants), "a thread failed before answering"
    return results


def ledger_total(**filters: Any) -> Decimal:
    return SpendEntry.objects.filter(**filters).aggregate(total=Sum("amount"))["total"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("attempt", range(2))
def test_thirty_simultaneous_grants_never_spend_past_the_period_limit(
    attempt: int, agent: User, supervisor: User
) -> None:
    set_policy(
        agent=agent,
        supervisor=supervisor,
        per_incident=HIGH,
        per_period="100.00",
        per_customer=HIGH,
    )
    tickets = mishaps(agent, count=30, customers=3)

    results = grant_in_parallel(agent, [(ticket.pk, "10.00") for ticket in tickets])

    codes = sorted(code for code, _ in results)
    assert codes == [201] * 10 + [202] * 20, results
    for code, body in results:
        if code == 201:
            assert body["status"] == "granted"
            assert body["approval"] is None
        else:
            assert body["status"] == "pending_approval"
            assert body["approval"] is not None
    assert ledger_total(user=agent) == Decimal("100.00")
    assert SpendEntry.objects.filter(user=agent).count() == 10
    granter = SpendCounter.objects.get(scope=SpendCounter.Scope.GRANTER, subject_id=agent.pk)
    assert granter.spent == Decimal("100.00")
    # The customers' counters add up to the same: no grant was counted twice or lost.
    customers = SpendCounter.objects.filter(scope=SpendCounter.Scope.CUSTOMER, period=PERIOD)
    assert customers.aggregate(total=Sum("spent"))["total"] == Decimal("100.00")
    pending = ApprovalRequest.objects.filter(
        requested_by=agent, status=ApprovalRequest.Status.PENDING
    )
    assert pending.count() == 20
    assert all(a.limits_exceeded == ["per_period_limit"] for a in pending)
    assert Restitution.objects.filter(status=Restitution.Status.GRANTED).count() == 10

    me = client_for(agent).get("/api/v1/authority/me/").json()
    assert me["period_spent"] == "100.00"
    assert me["period_remaining"] == "0.00"


@pytest.mark.django_db(transaction=True)
def test_simultaneous_grants_on_one_ticket_stop_at_the_per_incident_limit(
    agent: User, supervisor: User
) -> None:
    set_policy(
        agent=agent, supervisor=supervisor, per_incident="50.00", per_period=HIGH, per_customer=HIGH
    )
    [ticket] = mishaps(agent, count=1, customers=1)

    results = grant_in_parallel(agent, [(ticket.pk, "10.00")] * 20)

    codes = sorted(code for code, _ in results)
    assert codes == [201] * 5 + [202] * 15, results
    counter = SpendCounter.objects.get(scope=SpendCounter.Scope.TICKET, subject_id=ticket.pk)
    assert counter.spent == Decimal("50.00")
    assert ledger_total(ticket=ticket) == Decimal("50.00")
    approvals = ApprovalRequest.objects.filter(restitution__ticket=ticket)
    assert approvals.count() == 15
    assert all(a.limits_exceeded == ["per_incident_limit"] for a in approvals)


@pytest.mark.django_db(transaction=True)
def test_simultaneous_grants_to_one_customer_stop_at_the_per_customer_limit(
    agent: User, supervisor: User
) -> None:
    set_policy(
        agent=agent, supervisor=supervisor, per_incident=HIGH, per_period=HIGH, per_customer="30.00"
    )
    tickets = mishaps(agent, count=12, customers=1)

    results = grant_in_parallel(agent, [(ticket.pk, "10.00") for ticket in tickets])

    codes = sorted(code for code, _ in results)
    assert codes == [201] * 3 + [202] * 9, results
    [customer] = {ticket.customer_id for ticket in tickets}
    counter = SpendCounter.objects.get(
        scope=SpendCounter.Scope.CUSTOMER, subject_id=customer, period=PERIOD
    )
    assert counter.spent == Decimal("30.00")
    assert ledger_total(customer_id=customer) == Decimal("30.00")
    approvals = ApprovalRequest.objects.filter(requested_by=agent)
    assert all(a.limits_exceeded == ["per_customer_limit"] for a in approvals)
    # A refused grant left no trace on the counters it did fit in.
    assert SpendCounter.objects.get(
        scope=SpendCounter.Scope.GRANTER, subject_id=agent.pk
    ).spent == Decimal("30.00")
    ticket_counters = SpendCounter.objects.filter(scope=SpendCounter.Scope.TICKET)
    assert ticket_counters.aggregate(total=Sum("spent"))["total"] == Decimal("30.00")


@pytest.mark.django_db(transaction=True)
def test_uneven_simultaneous_grants_on_one_ticket_never_pass_the_limit_nor_refuse_what_fits(
    agent: User, supervisor: User
) -> None:
    set_policy(
        agent=agent, supervisor=supervisor, per_incident="50.00", per_period=HIGH, per_customer=HIGH
    )
    [ticket] = mishaps(agent, count=1, customers=1)
    amounts = ["7.00", "13.00", "20.00", "4.50", "9.99", "15.00", "3.01", "11.00"] * 2

    results = grant_in_parallel(agent, [(ticket.pk, amount) for amount in amounts])

    granted = [Decimal(body["amount"]) for code, body in results if code == 201]
    refused = [Decimal(body["amount"]) for code, body in results if code == 202]
    assert len(granted) + len(refused) == len(amounts)
    total = sum(granted, Decimal("0.00"))
    assert Decimal("0") < total <= Decimal("50.00")
    counter = SpendCounter.objects.get(scope=SpendCounter.Scope.TICKET, subject_id=ticket.pk)
    assert counter.spent == total
    assert ledger_total(ticket=ticket) == total
    # The counter only grows, so a grant sent for approval would not fit in
    # what is left at the end either: nothing was refused that the limit allowed.
    assert all(total + amount > Decimal("50.00") for amount in refused)


@pytest.mark.django_db(transaction=True)
def test_grants_and_voids_at_the_same_moment_keep_the_counters_equal_to_the_ledger(
    agent: User, supervisor: User
) -> None:
    """Voids take the counters in the order grants do (ticket, customer,
    granter): run together, none deadlocks, and the budget never goes past
    its limit nor loses track of the ledger."""
    set_policy(
        agent=agent,
        supervisor=supervisor,
        per_incident=HIGH,
        per_period="100.00",
        per_customer=HIGH,
    )
    tickets = mishaps(agent, count=16, customers=2)
    client = client_for(agent)
    voidable = []
    for ticket in tickets[:6]:
        response = client.post(
            f"/api/v1/tickets/{ticket.pk}/restitutions/",
            {"kind": "credit", "amount": "10.00", "currency": "USD", "reason": "Before."},
            format="json",
        )
        assert response.status_code == 201, response.json()
        voidable.append(response.json()["id"])
    barrier = threading.Barrier(len(voidable) + 10)
    outcomes: list[int] = []

    def void(restitution_id: int) -> None:
        try:
            barrier.wait(timeout=30)
            response = client_for(User.objects.get(pk=agent.pk)).post(
                f"/api/v1/restitutions/{restitution_id}/void/", {"reason": "Race."}, format="json"
            )
            outcomes.append(response.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=void, args=(pk,), daemon=True) for pk in voidable]
    grants: list[tuple[int, Any]] = []

    def grant_the_rest() -> None:
        try:
            grants.extend(
                grant_in_parallel(agent, [(ticket.pk, "10.00") for ticket in tickets[6:]], barrier)
            )
        finally:
            connection.close()

    granting = threading.Thread(target=grant_the_rest, daemon=True)
    for thread in [*threads, granting]:
        thread.start()
    for thread in [*threads, granting]:
        thread.join(timeout=JOIN_TIMEOUT)

    assert outcomes == [200] * len(voidable)
    assert len(grants) == 10
    assert {code for code, _ in grants} <= {201, 202}, grants
    granted = sum(1 for code, _ in grants if code == 201)
    # Whatever the interleaving, at least the 40.00 left before the voids is granted.
    assert granted >= 4
    total = ledger_total(user=agent)
    assert total == Decimal("10.00") * granted <= Decimal("100.00")
    counter = SpendCounter.objects.get(scope=SpendCounter.Scope.GRANTER, subject_id=agent.pk)
    assert counter.spent == total
    customers = SpendCounter.objects.filter(scope=SpendCounter.Scope.CUSTOMER, period=PERIOD)
    assert customers.aggregate(total=Sum("spent"))["total"] == total
    ticket_counters = SpendCounter.objects.filter(scope=SpendCounter.Scope.TICKET)
    assert ticket_counters.aggregate(total=Sum("spent"))["total"] == total


def _grant_on_its_own_connection(agent: User, ticket: Ticket, amount: str) -> Restitution:
    """A grant by ``agent`` in another thread, so on another connection,
    committed by the time this returns."""
    done: list[Restitution] = []

    def grant() -> None:
        try:
            done.append(
                restitution_grant(
                    ticket=ticket.pk,
                    actor=User.objects.get(pk=agent.pk),
                    kind="credit",
                    amount=amount,
                    currency="USD",
                    reason="Meanwhile.",
                )
            )
        finally:
            connection.close()

    thread = threading.Thread(target=grant, daemon=True)
    thread.start()
    thread.join(timeout=JOIN_TIMEOUT)
    assert done, "the other grant did not finish"
    return done[0]


@pytest.mark.django_db(transaction=True)
def test_a_grant_whose_room_is_spent_before_its_charge_is_made_again_as_a_request(
    agent: User, supervisor: User
) -> None:
    """A grant within limits by the counters as it read them writes its rows
    first and charges last; when another grant spends the room in between,
    the charge refuses, and none of the first attempt stays: it is made again
    as a request, with the limit the charge found."""
    set_policy(
        agent=agent, supervisor=supervisor, per_incident=HIGH, per_period="10.00", per_customer=HIGH
    )
    first, other, warm = mishaps(agent, count=3, customers=3)
    _grant_on_its_own_connection(agent, warm, "1.00")  # the agent's counter exists: 9.00 left
    answers: list[str] = []

    def spend_the_room_meanwhile(restitution: Restitution) -> None:
        answers.append(restitution.status)
        if len(answers) == 1:
            assert _grant_on_its_own_connection(agent, other, "9.00").status == "granted"

    result = restitution_grant(
        ticket=first.pk,
        actor=agent,
        kind="credit",
        amount="9.00",
        currency="USD",
        reason="Race.",
        before_commit=spend_the_room_meanwhile,
    )

    assert answers == ["granted", "pending_approval"]
    assert result.status == Restitution.Status.PENDING_APPROVAL
    assert result.approval.limits_exceeded == ["per_period_limit"]
    assert list(Restitution.objects.filter(ticket=first).values_list("status", flat=True)) == [
        "pending_approval"
    ]
    assert not SpendEntry.objects.filter(ticket=first).exists()
    assert not TicketEvent.objects.filter(ticket=first, action="restitution_granted").exists()
    assert SpendCounter.objects.get(
        scope=SpendCounter.Scope.GRANTER, subject_id=agent.pk
    ).spent == Decimal("10.00")
    assert ledger_total(user=agent) == Decimal("10.00")
    assert not SpendCounter.objects.filter(
        scope=SpendCounter.Scope.TICKET, subject_id=first.pk, spent__gt=0
    ).exists()


@pytest.mark.django_db(transaction=True)
def test_a_grant_over_a_limit_waits_for_no_other_grant(agent: User, supervisor: User) -> None:
    """Over a limit by the counters as they stand, a grant charges nothing,
    so it does not wait for the budget another grant holds locked."""
    set_policy(
        agent=agent, supervisor=supervisor, per_incident=HIGH, per_period="10.00", per_customer=HIGH
    )
    ticket, warm = mishaps(agent, count=2, customers=2)
    _grant_on_its_own_connection(agent, warm, "10.00")  # the budget is spent
    locked, release = threading.Event(), threading.Event()

    def hold_the_budget() -> None:
        try:
            with transaction.atomic():
                list(
                    SpendCounter.objects.select_for_update().filter(
                        scope=SpendCounter.Scope.GRANTER, subject_id=agent.pk
                    )
                )
                locked.set()
                release.wait(timeout=JOIN_TIMEOUT)
        finally:
            connection.close()

    holder = threading.Thread(target=hold_the_budget, daemon=True)
    holder.start()
    assert locked.wait(timeout=JOIN_TIMEOUT)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '2s'")  # a wait would fail, not hang
        result = restitution_grant(
            ticket=ticket.pk,
            actor=agent,
            kind="credit",
            amount="5.00",
            currency="USD",
            reason="Over the budget.",
        )
    finally:
        release.set()
        holder.join(timeout=JOIN_TIMEOUT)
        with connection.cursor() as cursor:
            cursor.execute("RESET lock_timeout")

    assert result.status == Restitution.Status.PENDING_APPROVAL
    assert result.approval.limits_exceeded == ["per_period_limit"]
