"""Every write path leaves its event, and the history cannot be rewritten."""

import pytest
from django.db import DatabaseError, connection, transaction

from tests.factories import StaffFactory, TicketFactory, advance
from tests.helpers import assignee_of, not_none
from tickets.models import Kind, TicketEvent
from tickets.models.records import AppendOnlyError
from tickets.services import message_create, ticket_convert_to_mishap, ticket_create, ticket_update

pytestmark = pytest.mark.django_db


def test_creation_is_recorded_with_its_content() -> None:
    ticket = TicketFactory(kind=Kind.MISHAP, severity="major", channel="phone")

    event = ticket.events.get()
    assert (event.action, event.to_status, event.actor) == ("created", "new", ticket.created_by)
    assert event.payload["kind"] == "mishap"
    assert event.payload["channel"] == "phone"


def test_opening_inside_a_transaction_returns_the_first_message_it_recorded() -> None:
    """``ticket_create`` in a caller's transaction (inbound mail) joins it and
    returns the first message with the ticket: the message and event it wrote."""
    with transaction.atomic():
        ticket, message = ticket_create(
            actor=None,
            subject="Lost parcel",
            body="  It never came.  ",
            customer_email="pat@example.com",
            customer_name="Pat",
            customer_message_id="<first@customer.example>",
        )

    assert message == ticket.messages.get()
    assert message.body == "It never came."
    assert message.email_message_id == "<first@customer.example>"
    assert ticket.customer.email == "pat@example.com"
    event = ticket.events.get()
    assert (event.action, event.payload["message_id"]) == ("created", message.pk)


def test_an_update_records_old_and_new_values() -> None:
    ticket = TicketFactory()

    ticket_update(
        ticket=ticket, actor=assignee_of(ticket), severity="critical", subject="Broken vase"
    )

    event = not_none(ticket.events.last())
    assert event.action == "updated"
    assert event.payload == {
        "severity": ["minor", "critical"],
        "subject": [ticket.subject, "Broken vase"],
    }


def test_an_update_that_changes_nothing_records_nothing() -> None:
    ticket = TicketFactory()

    ticket_update(ticket=ticket, actor=assignee_of(ticket), subject=ticket.subject)

    assert ticket.events.count() == 1


def test_reassignment_is_recorded() -> None:
    ticket = TicketFactory()
    other = StaffFactory()

    ticket_update(ticket=ticket, actor=assignee_of(ticket), assignee=other)

    assert not_none(ticket.events.last()).payload == {
        "assignee": [assignee_of(ticket).pk, other.pk]
    }


def test_conversion_to_mishap_is_recorded() -> None:
    ticket = advance(TicketFactory(), to="acknowledged")

    ticket_convert_to_mishap(ticket=ticket, actor=assignee_of(ticket), our_part="Our outage.")

    event = not_none(ticket.events.last())
    assert event.action == "converted_to_mishap"
    assert event.payload["our_part"] == "Our outage."


@pytest.mark.parametrize(("public", "action"), [(True, "replied"), (False, "noted")])
def test_replies_and_notes_are_recorded(public: bool, action: str) -> None:
    ticket = TicketFactory()

    message = message_create(ticket=ticket, actor=assignee_of(ticket), body="Hello", public=public)

    assert not_none(ticket.events.last()).action == action
    assert not_none(ticket.events.last()).payload == {"message": message.pk}


def test_step_events_carry_the_step_content() -> None:
    ticket = advance(TicketFactory(kind=Kind.MISHAP), to="committed")

    by_action = {e.action: e.payload for e in ticket.events.all()}

    assert by_action["acknowledge"]["our_part"] == "We sent the wrong item."
    assert by_action["apologize"]["message"].startswith("We are sorry")
    assert by_action["commit"]["promise"] == "A replacement ships today."


def test_the_model_refuses_to_change_or_delete_an_event() -> None:
    event = TicketFactory().events.get()

    event.action = "forged"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE tickets_ticketevent SET action = 'forged'",
        "DELETE FROM tickets_ticketevent",
    ],
)
def test_the_database_refuses_to_change_or_delete_events(statement: str) -> None:
    TicketFactory()

    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(statement)

    assert TicketEvent.objects.filter(action="created").count() == 1


def test_queryset_update_cannot_bypass_the_history() -> None:
    TicketFactory()

    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        TicketEvent.objects.update(action="forged")
