"""Inputs that once lost or misfiled a message: hostile headers, a delivery
that died, stalled rows, duplicate bytes, tricky threading, a bad batch."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import User
from inbound.imap import poll
from inbound.models import InboundEmail
from inbound.services import inbound_process_stalled, inbound_receive, inbound_retry
from tests.factories import TicketFactory, advance
from tests.inbound.mail import FakeMailbox, raw_email, receive
from tickets.models import Kind, Status, Ticket

pytestmark = pytest.mark.django_db

Outcome = InboundEmail.Outcome


@pytest.mark.parametrize(
    "raw",
    [
        b"From: pat@example.com\r\nSubject: =?utf-8?q?a=00b?=\r\n\r\nHello\r\n",
        b"From: pat@example.com\r\nSubject: a\x00b\r\nMessage-ID: <n\x00ul@x>\r\n\r\nHello\r\n",
        b"From: pat@example.com\r\nSubject: x\r\nContent-Type: text/plain; charset=undefined"
        b"\r\n\r\nHello\r\n",
        b"From: pat@example.com\r\nSubject: x\r\nContent-Type: text/plain; charset=idna"
        b"\r\n\r\nHello\r\n",
    ],
    ids=["nul-encoded-word", "nul-raw", "charset-undefined", "charset-idna"],
)
def test_hostile_headers_and_charsets_are_stored_and_handled(raw: bytes) -> None:
    email = receive(raw)

    email.refresh_from_db()
    assert bytes(email.raw) == raw
    assert email.status == InboundEmail.Status.PROCESSED
    assert "\x00" not in email.subject
    assert email.ticket is not None
    assert "Hello" in email.ticket.messages.get().body


def test_a_message_stored_by_a_delivery_that_died_is_handled_on_redelivery() -> None:
    raw = raw_email(message_id="<died@customer.example>")
    InboundEmail.objects.create(
        raw=raw, size=len(raw), source="pipe", dedupe_key="<died@customer.example>"
    )

    again = inbound_receive(raw=raw, source="pipe")

    assert again.duplicate is True
    assert again.email.status == InboundEmail.Status.PROCESSED
    assert again.email.ticket is not None


def test_stalled_messages_are_swept_and_can_be_retried(supervisor: User) -> None:
    raw = raw_email(message_id="<stalled@customer.example>")
    stalled = InboundEmail.objects.create(
        raw=raw,
        size=len(raw),
        source="http",
        dedupe_key="<stalled@customer.example>",
        received_at=timezone.now() - timedelta(minutes=10),
    )
    other = raw_email(message_id="<fresh@customer.example>")
    fresh = InboundEmail.objects.create(
        raw=other, size=len(other), source="http", dedupe_key="<fresh@customer.example>"
    )

    assert inbound_process_stalled() == 1
    stalled.refresh_from_db()
    assert stalled.status == InboundEmail.Status.PROCESSED
    assert inbound_retry(email=fresh, actor=supervisor).status == InboundEmail.Status.PROCESSED


def test_the_same_bytes_without_a_message_id_are_one_message() -> None:
    raw = b"From: pat@example.com\r\nSubject: no id\r\n\r\nHello\r\n"

    first, second = inbound_receive(raw=raw, source="imap"), inbound_receive(raw=raw, source="imap")

    assert (first.duplicate, second.duplicate) == (False, True)
    assert Ticket.objects.count() == 1


def test_a_reply_to_a_restored_ticket_opens_a_new_one_naming_it(agent: User) -> None:
    old = advance(
        TicketFactory(actor=agent, kind=Kind.MISHAP, customer_email="pat@example.com"),
        to=Status.RESTORED,
    )

    email = receive(raw_email(subject=f"Re: [{old.reference}] thanks", body="It broke AGAIN."))

    assert email.outcome == Outcome.NEW_TICKET
    assert email.ticket != old
    assert email.ticket is not None
    assert email.ticket.messages.get().body.startswith(
        f"(The customer wrote again about {old.reference}.)"
    )
    old.refresh_from_db()
    assert old.status == Status.RESTORED


def test_a_reference_after_another_bracket_still_threads(agent: User) -> None:
    ticket = TicketFactory(actor=agent, customer_email="pat@example.com")

    email = receive(raw_email(subject=f"[EXTERNAL] Re: [{ticket.reference}] hello"))

    assert email.ticket == ticket


def test_a_forwarded_email_is_kept_whole_as_an_eml() -> None:
    inner = raw_email(sender="shop@example.com", subject="Invoice", body="INNER TEXT")
    outer = (
        b"From: pat@example.com\r\nSubject: Fwd: Invoice\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b1"\r\n\r\n'
        b"--b1\r\nContent-Type: text/plain\r\n\r\nPlease see the attached email.\r\n"
        b"--b1\r\nContent-Type: message/rfc822\r\n\r\n" + inner + b"\r\n--b1--\r\n"
    )

    email = receive(outer)

    message = email.ticket_message
    assert message is not None
    assert message.body == "Please see the attached email."
    attachment = message.attachments.get()
    assert attachment.name == "forwarded.eml"
    assert b"INNER TEXT" in attachment.file.read()


def test_one_message_that_cannot_be_stored_does_not_stop_the_batch(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import inbound.imap

    real = inbound.imap.inbound_receive

    def flaky(*, raw: bytes, source: str) -> object:
        if b"Broken" in raw:
            raise RuntimeError("database went away")
        return real(raw=raw, source=source)

    monkeypatch.setattr(inbound.imap, "inbound_receive", flaky)
    mailbox = FakeMailbox({"1": raw_email(subject="Broken"), "2": raw_email(subject="Fine")})

    result = poll(mailbox, folder="INBOX", batch=10)

    assert result.stored == 1
    assert mailbox.flags == {"1": set(), "2": {"\\Seen"}}


def test_a_reply_from_someone_else_on_the_thread_is_marked_as_theirs(agent: User) -> None:
    from tickets.services import message_create

    ticket = TicketFactory(actor=agent, customer_email="pat@example.com")
    ours = message_create(ticket=ticket, actor=agent, body="On it.", public=True)

    colleague = receive(
        raw_email(sender="sam@pat-company.example", in_reply_to=ours.email_message_id)
    )
    customer = receive(raw_email(sender="PAT@example.com", in_reply_to=ours.email_message_id))

    assert colleague.ticket_message is not None
    assert customer.ticket_message is not None
    assert colleague.ticket_message.from_address == "sam@pat-company.example"
    assert customer.ticket_message.from_address == ""
