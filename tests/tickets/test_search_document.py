"""Each ticket's search document (``TicketSearch``, its own table: migration
tickets/0018): its subject (weight A) and every message (B), kept by the
database whichever path writes the ticket or the message, and recomputed
when the subject changes. PostgreSQL only: SQLite searches substrings."""

from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.urls import reverse

from accounts.models import User
from cases.services import case_reply
from inbound.services import inbound_receive
from tests.factories import TicketFactory
from tests.helpers import client_for, console_client
from tests.inbound.mail import raw_email
from tickets.models import Message, Ticket, TicketSearch
from tickets.services import message_create, ticket_acknowledge, ticket_create

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's full-text search"),
]

WORD = "zeppelin"  # in no generated subject or body


def words(ticket: Ticket) -> dict[str, set[str]]:
    """The document's words, each with the weights it has (A subject, B message)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT lexeme, weights FROM tickets_ticketsearch, unnest(document) "
            "WHERE ticket_id = %s",
            [ticket.pk],
        )
        return {lexeme: set(weights) for lexeme, weights in cursor.fetchall()}


def recomputed(ticket: Ticket) -> dict[str, set[str]]:
    """What the document holds computed afresh from the subject and messages."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT lexeme, weights FROM tickets_ticket t, unnest(tickets_search_document("
            "t.subject, (SELECT string_agg(body, ' ') FROM tickets_message "
            "WHERE ticket_id = t.id))) WHERE t.id = %s",
            [ticket.pk],
        )
        return {lexeme: set(weights) for lexeme, weights in cursor.fetchall()}


def test_a_new_ticket_holds_its_subject_and_first_message(agent: User) -> None:
    ticket = TicketFactory(actor=agent, subject="Grinder broken", body="The burr is cracked.")

    assert words(ticket) == {"grinder": {"A"}, "broken": {"A"}, "burr": {"B"}, "crack": {"B"}}


def _api_reply(ticket: Ticket, staff: User) -> None:
    url = f"/api/v1/tickets/{ticket.pk}/messages/"
    response = client_for(staff).post(
        url, {"body": f"The {WORD} left.", "public": True}, format="json"
    )
    assert response.status_code == 201


def _api_note(ticket: Ticket, staff: User) -> None:
    url = f"/api/v1/tickets/{ticket.pk}/messages/"
    response = client_for(staff).post(
        url, {"body": f"Ask the {WORD}.", "public": False}, format="json"
    )
    assert response.status_code == 201


def _console_reply(ticket: Ticket, staff: User) -> None:
    url = reverse("console:ticket_reply", args=[ticket.pk])
    response = console_client(staff).post(url, {"body": f"Our {WORD} is late."})
    assert response.status_code == 302


def _console_note(ticket: Ticket, staff: User) -> None:
    url = reverse("console:ticket_reply", args=[ticket.pk])
    response = console_client(staff).post(url, {"body": f"A {WORD} note.", "note": "1"})
    assert response.status_code == 302


def _inbound_email(ticket: Ticket, staff: User) -> None:
    first = ticket.messages.get()
    Message.objects.filter(pk=first.pk).update(email_message_id="<first@customer.example>")
    email = inbound_receive(
        raw=raw_email(
            sender=f"Pat <{ticket.customer.email}>",
            subject=f"Re: {ticket.subject}",
            body=f"Still no {WORD}.",
            in_reply_to="<first@customer.example>",
        ),
        source="pipe",
    ).email
    assert email.ticket == ticket


def _case_page(ticket: Ticket, staff: User) -> None:
    case_reply(ticket=ticket, body=f"Where is the {WORD}?")


def _step_message(ticket: Ticket, staff: User) -> None:
    ticket_acknowledge(ticket=ticket, actor=staff, message=f"We are on the {WORD}.")


@pytest.mark.parametrize(
    "write",
    [
        _api_reply,
        _api_note,
        _console_reply,
        _console_note,
        _inbound_email,
        _case_page,
        _step_message,
    ],
)
def test_every_path_that_adds_a_message_adds_its_words(
    supervisor: User, write: Callable[[Ticket, User], None]
) -> None:
    ticket = TicketFactory(actor=supervisor, subject="Order late", body="Nothing came.")

    write(ticket, supervisor)

    assert words(ticket)[WORD] == {"B"}
    assert words(ticket) == recomputed(ticket)
    response = client_for(supervisor).get("/api/v1/tickets/", {"search": WORD})
    assert [row["id"] for row in response.json()["results"]] == [ticket.pk]


def test_a_new_subject_replaces_the_old_one_and_keeps_the_messages(supervisor: User) -> None:
    ticket = TicketFactory(actor=supervisor, subject="Grinder broken", body="The burr is cracked.")

    response = client_for(supervisor).patch(
        f"/api/v1/tickets/{ticket.pk}/", {"subject": f"Broken {WORD}"}, format="json"
    )

    assert response.status_code == 200
    assert words(ticket) == {"broken": {"A"}, WORD: {"A"}, "burr": {"B"}, "crack": {"B"}}


def test_a_full_save_leaves_the_document_alone(supervisor: User, **_: Any) -> None:
    """A save() of a ticket loaded before a message writes every column of
    the ticket, and none of them is the document."""
    ticket = TicketFactory(actor=supervisor, subject="Order late", body="Nothing came.")
    loaded = Ticket.objects.get(pk=ticket.pk)
    _api_note(ticket, supervisor)

    loaded.our_part = "We shipped late."
    loaded.save()

    assert WORD in words(ticket)


def test_the_tickets_table_holds_no_document() -> None:
    """The documents (1.6 KB a ticket) would make every list that counts or
    scans tickets read 2.7 times the pages: they live in their own table."""
    with connection.cursor() as cursor:
        columns = connection.introspection.get_table_description(cursor, "tickets_ticket")
    assert "search_document" not in {column.name for column in columns}
    assert TicketSearch._meta.db_table == "tickets_ticketsearch"


def test_a_ticket_opened_with_a_message_by_the_services_is_found(supervisor: User) -> None:
    ticket, _ = ticket_create(
        actor=supervisor,
        subject="Kettle",
        body=f"The {WORD} is cold.",
        customer_email="pat@customer.example",
        customer_name="Pat",
    )
    message_create(ticket=ticket, actor=supervisor, body="A descaler helps.", public=True)

    assert words(ticket) == recomputed(ticket)
    assert "kettl" in words(ticket)
    for text in (WORD, "descaler", "kettle"):
        response = client_for(supervisor).get("/api/v1/tickets/", {"search": text})
        assert [row["id"] for row in response.json()["results"]] == [ticket.pk]


def test_a_ticket_opened_by_email_is_found(supervisor: User) -> None:
    email = inbound_receive(
        raw=raw_email(
            sender="Pat <pat@customer.example>",
            subject="Broken tamper",
            body=f"It came with a {WORD} inside.",
        ),
        source="pipe",
    ).email
    ticket = email.ticket

    assert ticket is not None
    assert words(ticket) == recomputed(ticket)
    for text in (WORD, "tamper"):
        response = client_for(supervisor).get("/api/v1/tickets/", {"search": text})
        assert [row["id"] for row in response.json()["results"]] == [ticket.pk]
