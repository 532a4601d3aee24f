"""What one inbound message costs in queries, by kind, as the mail gateway
runs it: outside any transaction, so the raw bytes are committed by their
own INSERT before a second transaction handles them. A new query here is a
round trip on every message the desk receives."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from inbound.models import InboundEmail
from inbound.services import inbound_receive
from tests.inbound.mail import raw_email
from tickets.models import Message, TicketEvent

# Real commits: the first one is what keeps a message that cannot be handled.
pytestmark = pytest.mark.django_db(transaction=True)

Status, Outcome = InboundEmail.Status, InboundEmail.Outcome


def _receive(raw: bytes) -> tuple[InboundEmail, list[str]]:
    with CaptureQueriesContext(connection) as captured:
        email = inbound_receive(raw=raw, source="pipe").email
    return email, [query["sql"].split(" ")[0] for query in captured.captured_queries]


# The raw INSERT (autocommit); then one transaction: lock the stored row
# (without its bytes), ..., write what handling found (without the bytes).
NEW_TICKET = [
    "INSERT",  # the raw bytes, committed
    "BEGIN",
    "SELECT",  # lock the stored row
    "SELECT",  # the customer, by address
    "SAVEPOINT",  # a concurrent first email from the same address loses here
    "INSERT",  # the customer
    "RELEASE",
    "INSERT",  # the ticket
    "INSERT",  # its first message
    "INSERT",  # the ticket's "created" event
    "UPDATE",  # the stored row: handled
    "COMMIT",
]
REPLY = [
    "INSERT",
    "BEGIN",
    "SELECT",  # lock the stored row
    "SELECT",  # the ticket whose message it answers
    "SELECT",  # lock the ticket, with its customer
    "INSERT",  # the message
    "INSERT",  # the "customer_replied" event
    "UPDATE",
    "COMMIT",
]
AUTO_REPLY = ["INSERT", "BEGIN", "SELECT", "UPDATE", "COMMIT"]


def test_a_new_ticket_from_a_new_customer() -> None:
    email, queries = _receive(raw_email(sender="Pat <pat@example.com>"))

    assert (email.status, email.outcome) == (Status.PROCESSED, Outcome.NEW_TICKET)
    assert email.ticket_message == Message.objects.get(ticket=email.ticket)
    assert queries == NEW_TICKET


def test_a_reply_by_in_reply_to() -> None:
    first = raw_email(message_id="<first@customer.example>")
    ticket = inbound_receive(raw=first, source="pipe").email.ticket

    email, queries = _receive(
        raw_email(subject="Re: My order never came", in_reply_to="<first@customer.example>")
    )

    assert (email.ticket, email.outcome) == (ticket, Outcome.REPLY)
    assert email.ticket_message == Message.objects.filter(ticket=ticket).latest("id")
    assert list(
        TicketEvent.objects.filter(ticket=ticket).values_list("action", flat=True).order_by("id")
    ) == ["created", "customer_replied"]
    assert queries == REPLY


def test_an_auto_reply_is_recorded_and_nothing_else() -> None:
    email, queries = _receive(raw_email(headers={"Auto-Submitted": "auto-replied"}))

    assert email.status == Status.IGNORED
    assert email.ticket is None
    assert queries == AUTO_REPLY


def test_handling_neither_reads_nor_rewrites_the_stored_bytes() -> None:
    raw = raw_email(attachments=[("photo.png", bytes(range(256)) * 40, "image/png")])

    with CaptureQueriesContext(connection) as captured:
        email = inbound_receive(raw=raw, source="pipe").email

    after_store = [q["sql"] for q in captured.captured_queries[1:]]
    assert not any('"raw"' in sql for sql in after_store)
    stored = InboundEmail.objects.get(pk=email.pk)
    assert bytes(stored.raw) == raw
    assert (stored.status, stored.attempts, stored.subject) == (
        Status.PROCESSED,
        1,
        "My order never came",
    )
    assert stored.ticket_message == email.ticket_message
    assert stored.ticket_message.attachments.get().name == "photo.png"  # type: ignore[union-attr]
