"""Idempotent grants (SPEC, "Authority and restitution"): a retry with the
same ``Idempotency-Key`` returns the first result and grants nothing more;
the same key with another body is refused with 422."""

import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.db.models import Sum

from accounts.models import User
from recovery.models import (
    ApprovalRequest,
    IdempotencyKey,
    Restitution,
    SpendEntry,
    WebhookEndpoint,
)
from recovery.services.idempotency import MAX_KEY_CHARS, idempotency_keys_purge
from recovery.tasks import purge_idempotency_keys
from tests.factories import StaffFactory, TicketFactory
from tests.helpers import client_for
from tickets.models import Kind, Ticket

KEY = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"
T0 = datetime(2031, 3, 4, 10, 0, tzinfo=UTC)


def mishap(agent: User) -> Ticket:
    return TicketFactory(kind=Kind.MISHAP, actor=agent)


def url(ticket: Ticket) -> str:
    return f"/api/v1/tickets/{ticket.pk}/restitutions/"


def grant_body(**overrides: Any) -> dict[str, Any]:
    return {
        "kind": "credit",
        "amount": "20.00",
        "currency": "USD",
        "reason": "The parcel arrived broken.",
        **overrides,
    }


def post(user: User, ticket: Ticket, body: dict[str, Any], key: str | None) -> Any:
    headers = {} if key is None else {KEY: key}
    return client_for(user).post(url(ticket), body, format="json", headers=headers)


def spent_on(ticket: Ticket) -> Decimal | None:
    return SpendEntry.objects.filter(ticket=ticket).aggregate(total=Sum("amount"))["total"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("amount", "status", "granted_status"),
    [("20.00", 201, "granted"), ("80.00", 202, "pending_approval")],
)
def test_a_retry_with_the_same_key_and_body_returns_the_first_response(
    agent: User, amount: str, status: int, granted_status: str
) -> None:
    ticket = mishap(agent)

    first = post(agent, ticket, grant_body(amount=amount), key="retry-1")
    again = post(agent, ticket, grant_body(amount=amount), key="retry-1")

    assert first.status_code == status
    assert first.json()["status"] == granted_status
    assert REPLAYED not in first.headers
    assert again.status_code == status
    assert again.headers[REPLAYED] == "true"
    assert again.json() == first.json()
    assert Restitution.objects.filter(ticket=ticket).count() == 1
    approvals = ApprovalRequest.objects.filter(restitution__ticket=ticket)
    assert approvals.count() == (1 if status == 202 else 0)
    assert spent_on(ticket) == (Decimal(amount) if status == 201 else None)


@pytest.mark.django_db
def test_a_replayed_grant_announces_nothing_twice(agent: User) -> None:
    endpoint = WebhookEndpoint.objects.create(
        url="http://127.0.0.1:9/hooks", secret="s3cret", events=["restitution.granted"]
    )
    ticket = mishap(agent)

    post(agent, ticket, grant_body(), key="announce-once")
    replay = post(agent, ticket, grant_body(), key="announce-once")

    assert replay.headers[REPLAYED] == "true"
    assert endpoint.deliveries.count() == 1


@pytest.mark.django_db
def test_without_a_key_every_post_grants_again(agent: User) -> None:
    ticket = mishap(agent)

    first = post(agent, ticket, grant_body(), key=None)
    second = post(agent, ticket, grant_body(), key=None)

    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json()["id"] != second.json()["id"]
    assert spent_on(ticket) == Decimal("40.00")
    assert not IdempotencyKey.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("change", ["amount", "reason", "other ticket"])
def test_the_same_key_with_another_request_is_refused_and_grants_nothing(
    agent: User, change: str
) -> None:
    ticket = mishap(agent)
    first = post(agent, ticket, grant_body(), key="order-77")
    assert first.status_code == 201

    target, body = ticket, grant_body()
    if change == "other ticket":
        target = mishap(agent)
    else:
        body[change] = {"amount": "25.00", "reason": "Another reason."}[change]
    refused = post(agent, target, body, key="order-77")

    assert refused.status_code == 422
    problem = refused.json()
    assert {"type", "title", "status", "detail"} <= problem.keys()
    assert problem["status"] == 422
    assert KEY in problem["errors"]
    assert KEY in problem["detail"]
    assert REPLAYED not in refused.headers
    assert Restitution.objects.count() == 1
    assert spent_on(ticket) == Decimal("20.00")
    assert spent_on(target) == (Decimal("20.00") if target == ticket else None)


@pytest.mark.django_db
def test_different_users_use_the_same_key_independently(agent: User) -> None:
    other = StaffFactory()
    mine, theirs = mishap(agent), mishap(other)

    first = post(agent, mine, grant_body(), key="shared-key")
    second = post(other, theirs, grant_body(), key="shared-key")

    assert (first.status_code, second.status_code) == (201, 201)
    assert REPLAYED not in second.headers
    assert second.json()["id"] != first.json()["id"]
    assert spent_on(mine) == spent_on(theirs) == Decimal("20.00")
    assert IdempotencyKey.objects.filter(key="shared-key").count() == 2


@pytest.mark.django_db
def test_a_key_whose_first_attempt_broke_a_rule_is_not_kept(agent: User) -> None:
    ticket = mishap(agent)

    wrong = post(agent, ticket, grant_body(currency="EUR"), key="fix-and-retry")
    assert wrong.status_code == 422
    assert "currency" in wrong.json()["errors"]
    assert not IdempotencyKey.objects.exists()
    assert not Restitution.objects.exists()

    corrected = post(agent, ticket, grant_body(), key="fix-and-retry")
    replay = post(agent, ticket, grant_body(), key="fix-and-retry")

    assert corrected.status_code == 201
    assert REPLAYED not in corrected.headers
    assert replay.status_code == 201
    assert replay.headers[REPLAYED] == "true"
    assert replay.json() == corrected.json()
    assert spent_on(ticket) == Decimal("20.00")


@pytest.mark.django_db
def test_a_malformed_first_attempt_is_not_kept_either(agent: User) -> None:
    ticket = mishap(agent)

    malformed = post(agent, ticket, {"kind": "credit", "currency": "USD"}, key="half-body")
    corrected = post(agent, ticket, grant_body(), key="half-body")

    assert malformed.status_code == 400
    assert corrected.status_code == 201
    assert REPLAYED not in corrected.headers


@pytest.mark.django_db(transaction=True)
def test_ten_simultaneous_posts_with_one_key_grant_once(agent: User) -> None:
    ticket = mishap(agent)
    barrier = threading.Barrier(10)
    results: list[tuple[int, Any, str | None]] = []
    users = [User.objects.get(pk=agent.pk) for _ in range(10)]

    def send(user: User) -> None:
        try:
            barrier.wait(timeout=30)
            response = post(user, ticket, grant_body(), key="double-click")
            results.append((response.status_code, response.json(), response.headers.get(REPLAYED)))
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(user,), daemon=True) for user in users]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert not any(thread.is_alive() for thread in threads)
    assert len(results) == 10
    assert {code for code, _, _ in results} == {201}
    bodies = [body for _, body, _ in results]
    assert all(body == bodies[0] for body in bodies)
    assert sorted(str(flag) for _, _, flag in results) == ["None"] + ["true"] * 9
    assert Restitution.objects.filter(ticket=ticket).count() == 1
    assert Restitution.objects.get(ticket=ticket).pk == bodies[0]["id"]
    assert spent_on(ticket) == Decimal("20.00")


@pytest.mark.django_db
def test_keys_older_than_a_day_are_purged_and_fresh_ones_kept(agent: User) -> None:
    small = grant_body(amount="5.00")
    with time_machine.travel(T0, tick=False) as traveller:
        ticket = mishap(agent)
        assert post(agent, ticket, small, key="yesterday").status_code == 201
        traveller.shift(timedelta(hours=2))
        assert post(agent, ticket, small, key="this-morning").status_code == 201
        traveller.move_to(T0 + timedelta(hours=25))
        assert post(agent, ticket, small, key="now").status_code == 201

        assert idempotency_keys_purge() == 1
        assert set(IdempotencyKey.objects.values_list("key", flat=True)) == {"this-morning", "now"}

        # A forgotten key is a new key: the request runs again, it is not refused.
        reused = post(agent, ticket, grant_body(amount="6.00"), key="yesterday")
        assert reused.status_code == 201
        assert REPLAYED not in reused.headers
        # A kept key still replays (23 hours old).
        replay = post(agent, ticket, small, key="this-morning")
        assert replay.headers[REPLAYED] == "true"
        assert spent_on(ticket) == Decimal("21.00")

        # The beat task runs the same purge: at T0 + 27 h the 25-hour-old key goes.
        traveller.shift(timedelta(hours=2))
        assert purge_idempotency_keys() == 1
        assert set(IdempotencyKey.objects.values_list("key", flat=True)) == {"now", "yesterday"}


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["k" * (MAX_KEY_CHARS + 1), "   ", ""])
def test_a_key_of_the_wrong_length_is_refused_and_grants_nothing(agent: User, key: str) -> None:
    ticket = mishap(agent)

    refused = post(agent, ticket, grant_body(), key=key)

    assert refused.status_code == 422
    assert KEY in refused.json()["errors"]
    assert str(MAX_KEY_CHARS) in refused.json()["detail"]
    assert not Restitution.objects.exists()
    assert not IdempotencyKey.objects.exists()


@pytest.mark.django_db
def test_a_key_of_the_longest_allowed_length_works(agent: User) -> None:
    ticket = mishap(agent)
    key = "k" * MAX_KEY_CHARS

    first = post(agent, ticket, grant_body(), key=key)
    again = post(agent, ticket, grant_body(), key=key)

    assert first.status_code == again.status_code == 201
    assert again.headers[REPLAYED] == "true"
    assert Restitution.objects.count() == 1
