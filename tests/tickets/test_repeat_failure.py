"""Repeat failures (SPEC, "Timeliness and repeat failures"): a new mishap for a
customer still rebuilding after another, or out of a rebuilding period for
less than 90 days, is flagged and raised to the supervisors."""

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from accounts.models import User
from accounts.roles import Role
from tests.factories import StaffFactory, TicketFactory, advance
from tests.helpers import client_for
from tickets.models import Alert, Kind, Status, Ticket, TicketEvent
from tickets.services import ticket_convert_to_mishap

pytestmark = pytest.mark.django_db

CUSTOMER = "repeat@example.com"


def actions_of(ticket: Ticket) -> list[str]:
    return list(
        TicketEvent.objects.filter(ticket=ticket).order_by("id").values_list("action", flat=True)
    )


def repeat_alerts(ticket: Ticket) -> list[Alert]:
    return list(Alert.objects.filter(ticket=ticket, kind=Alert.Kind.REPEAT_FAILURE))


def assert_not_flagged(ticket: Ticket) -> None:
    ticket.refresh_from_db()
    assert ticket.is_repeat_failure is False
    assert ticket.repeat_of is None
    assert "flagged_repeat_failure" not in actions_of(ticket)
    assert repeat_alerts(ticket) == []


@pytest.fixture
def supervisors(db: None) -> set[User]:
    return {StaffFactory(role=Role.SUPERVISOR), StaffFactory(role=Role.SUPERVISOR)}


@pytest.fixture
def rebuilding(agent: User) -> Ticket:
    """The customer's first mishap, resolved and still in its rebuilding period."""
    first = TicketFactory(actor=agent, kind=Kind.MISHAP, customer_email=CUSTOMER)
    return advance(first, to="rebuilding")


def restored_days_ago(agent: User, days: int) -> Ticket:
    """A mishap of the customer whose rebuilding period ended ``days`` ago."""
    with time_machine.travel(timezone.now() - timedelta(days=days), tick=False):
        first = TicketFactory(actor=agent, kind=Kind.MISHAP, customer_email=CUSTOMER)
        first = advance(first, to="restored")
    assert first.rebuilding_ended_at is not None
    return first


def test_a_mishap_for_a_customer_still_rebuilding_is_flagged(
    agent: User, supervisors: set[User], rebuilding: Ticket
) -> None:
    colleague = StaffFactory(role=Role.AGENT)

    second = TicketFactory(actor=colleague, kind=Kind.MISHAP, customer_email=CUSTOMER)

    second.refresh_from_db()
    assert second.customer_id == rebuilding.customer_id
    assert second.is_repeat_failure is True
    assert second.repeat_of == rebuilding
    event = TicketEvent.objects.get(ticket=second, action="flagged_repeat_failure")
    assert event.actor == colleague
    assert event.payload == {
        "repeat_of": rebuilding.pk,
        "previous_reference": rebuilding.reference,
    }
    [alert] = repeat_alerts(second)
    assert set(alert.recipients.all()) == supervisors
    assert colleague not in alert.recipients.all()
    assert rebuilding.reference in alert.detail
    assert "still recovering" in alert.detail


def test_the_first_mishap_is_left_as_it_was(agent: User, rebuilding: Ticket) -> None:
    before = actions_of(rebuilding)

    TicketFactory(kind=Kind.MISHAP, customer_email=CUSTOMER)

    rebuilding.refresh_from_db()
    assert rebuilding.status == Status.REBUILDING
    assert rebuilding.is_repeat_failure is False
    assert actions_of(rebuilding) == before


def test_a_mishap_opened_through_the_api_is_flagged_and_shows_what_it_repeats(
    agent: User, supervisors: set[User], rebuilding: Ticket
) -> None:
    response = client_for(agent).post(
        "/api/v1/tickets/",
        {
            "subject": "Wrong item, again",
            "body": "This is the second time.",
            "kind": "mishap",
            "severity": "major",
            "customer_email": CUSTOMER.upper(),  # the same customer, whatever the case
            "customer_name": "Rita Repeat",
        },
        format="json",
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["is_repeat_failure"] is True
    assert body["repeat_of"] == rebuilding.reference
    assert [e["action"] for e in body["history"]] == ["created", "flagged_repeat_failure"]
    [alert] = repeat_alerts(Ticket.objects.get(pk=body["id"]))
    assert set(alert.recipients.all()) == supervisors
    assert agent not in alert.recipients.all()


@pytest.mark.parametrize("days", [1, 30, 89])
def test_a_mishap_within_90_days_of_a_restored_one_is_flagged(
    agent: User, supervisors: set[User], days: int
) -> None:
    first = restored_days_ago(agent, days)

    second = TicketFactory(actor=agent, kind=Kind.MISHAP, customer_email=CUSTOMER)

    second.refresh_from_db()
    assert second.is_repeat_failure is True
    assert second.repeat_of == first
    assert "flagged_repeat_failure" in actions_of(second)
    [alert] = repeat_alerts(second)
    assert set(alert.recipients.all()) == supervisors
    assert "recently recovered" in alert.detail


@pytest.mark.parametrize("days", [91, 100])
def test_a_mishap_more_than_90_days_after_a_restored_one_is_not_flagged(
    agent: User, supervisors: set[User], days: int
) -> None:
    restored_days_ago(agent, days)

    second = TicketFactory(actor=agent, kind=Kind.MISHAP, customer_email=CUSTOMER)

    assert_not_flagged(second)


def test_the_window_is_a_setting(agent: User, settings: Any) -> None:
    settings.HELPDESK_REPEAT_FAILURE_WINDOW = timedelta(days=10)
    restored_days_ago(agent, 30)

    second = TicketFactory(actor=agent, kind=Kind.MISHAP, customer_email=CUSTOMER)

    assert_not_flagged(second)


def test_a_question_is_never_flagged(
    agent: User, supervisors: set[User], rebuilding: Ticket
) -> None:
    question = TicketFactory(actor=agent, kind=Kind.QUESTION, customer_email=CUSTOMER)

    assert question.customer_id == rebuilding.customer_id
    assert_not_flagged(question)


@pytest.mark.parametrize("to", ["new", "acknowledged", "committed"])
def test_a_mishap_still_being_handled_is_no_rebuilding_period(agent: User, to: str) -> None:
    first = TicketFactory(actor=agent, kind=Kind.MISHAP, customer_email=CUSTOMER)
    if to != "new":
        advance(first, to=to)

    second = TicketFactory(actor=agent, kind=Kind.MISHAP, customer_email=CUSTOMER)

    assert_not_flagged(second)


def test_another_customer_is_not_affected(agent: User, rebuilding: Ticket) -> None:
    other = TicketFactory(actor=agent, kind=Kind.MISHAP, customer_email="someone@example.com")

    assert other.customer_id != rebuilding.customer_id
    assert_not_flagged(other)


@pytest.mark.parametrize("to", ["new", "acknowledged"])
def test_a_question_turned_into_a_mishap_for_such_a_customer_is_flagged(
    agent: User, supervisors: set[User], rebuilding: Ticket, to: str
) -> None:
    question = TicketFactory(actor=agent, kind=Kind.QUESTION, customer_email=CUSTOMER)
    if to != "new":
        question = advance(question, to=to)

    ticket_convert_to_mishap(ticket=question, actor=agent, our_part="We shipped it late again.")

    question.refresh_from_db()
    assert question.kind == Kind.MISHAP
    assert question.is_repeat_failure is True
    assert question.repeat_of == rebuilding
    assert actions_of(question)[-2:] == ["converted_to_mishap", "flagged_repeat_failure"]
    [alert] = repeat_alerts(question)
    assert set(alert.recipients.all()) == supervisors


def test_a_question_turned_into_a_mishap_through_the_api_is_flagged(
    agent: User, rebuilding: Ticket
) -> None:
    question = TicketFactory(actor=agent, kind=Kind.QUESTION, customer_email=CUSTOMER)

    response = client_for(agent).post(
        f"/api/v1/tickets/{question.pk}/make-mishap/", {}, format="json"
    )

    assert response.status_code == 200, response.json()
    assert response.json()["is_repeat_failure"] is True
    assert response.json()["repeat_of"] == rebuilding.reference
    assert response.json()["history"][-1]["action"] == "flagged_repeat_failure"


def test_a_question_turned_into_a_mishap_for_another_customer_is_not_flagged(
    agent: User, rebuilding: Ticket
) -> None:
    question = TicketFactory(actor=agent, kind=Kind.QUESTION, customer_email="else@example.com")

    ticket_convert_to_mishap(ticket=question, actor=agent)

    question.refresh_from_db()
    assert question.kind == Kind.MISHAP
    assert_not_flagged(question)


def test_a_repeat_is_linked_to_the_most_recent_previous_mishap(agent: User) -> None:
    older = restored_days_ago(agent, 40)
    newer = advance(
        TicketFactory(actor=agent, kind=Kind.MISHAP, customer_email=CUSTOMER), to="rebuilding"
    )
    # The second mishap was itself a repeat of the first.
    assert Ticket.objects.get(pk=newer.pk).repeat_of == older

    third = TicketFactory(actor=agent, kind=Kind.MISHAP, customer_email=CUSTOMER)

    third.refresh_from_db()
    assert third.repeat_of == newer
