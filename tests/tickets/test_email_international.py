"""Replies to internationalised addresses (RFC 6531/6532): sent with
SMTPUTF8 when the mail server offers it, the address as the customer wrote
it in the envelope and in To; failed at once, with the reason, when the
server does not offer it (core.mail.SMTPBackend, through the outbox)."""

from collections.abc import Iterator
from typing import Any

import pytest

from outbox.models import OutboxItem
from tests.delivery import deliver_item, item_for
from tests.factories import TicketFactory
from tests.helpers import not_none
from tests.smtp import SmtpSink, running_sink
from tickets.models import Alert, Message
from tickets.services import message_create
from tickets.services.delivery import SOURCE

pytestmark = pytest.mark.django_db

ADDRESS = "jdöe@mächine.example"


@pytest.fixture
def utf8_sink(settings: Any) -> Iterator[SmtpSink]:
    """A local SMTP server that offers SMTPUTF8, as Postfix and Exim do."""
    with running_sink(settings, enable_SMTPUTF8=True) as sink:
        yield sink


@pytest.fixture
def ascii_sink(settings: Any) -> Iterator[SmtpSink]:
    """A local SMTP server that does not offer SMTPUTF8."""
    with running_sink(settings, enable_SMTPUTF8=False) as sink:
        yield sink


def reply_to_johns_ticket() -> Message:
    ticket = TicketFactory(customer_name="Jöhn Doe", customer_email=ADDRESS)
    assert ticket.assignee is not None
    return message_create(ticket=ticket, actor=ticket.assignee, body="We are on it.", public=True)


def test_a_reply_to_an_internationalised_address_goes_with_smtputf8(utf8_sink: SmtpSink) -> None:
    message = reply_to_johns_ticket()

    assert deliver_item(SOURCE, message.pk).sent

    [envelope] = utf8_sink.handler.envelopes
    assert envelope.rcpt_tos == [ADDRESS]
    assert "SMTPUTF8" in envelope.mail_options
    [received] = utf8_sink.received
    # Raw UTF-8, as RFC 6532 writes it (Python reads the bytes back as str).
    assert f"<{ADDRESS}>".encode() in envelope.content
    assert str(received["To"]) == f"Jöhn Doe <{ADDRESS}>"
    assert "We are on it." in not_none(received.get_body(("plain",))).get_content()


def test_a_server_without_smtputf8_fails_the_reply_at_once_and_says_why(
    ascii_sink: SmtpSink,
) -> None:
    message = reply_to_johns_ticket()

    dispatch = deliver_item(SOURCE, message.pk)

    item = item_for(SOURCE, message.pk)
    assert list(dispatch.failed) == [item.pk]
    assert item.status == OutboxItem.Status.FAILED
    assert "does not offer SMTPUTF8" in item.last_error
    assert ADDRESS in item.last_error
    message.refresh_from_db()
    assert message.delivery_status == Message.Delivery.FAILED
    assert Alert.objects.filter(kind=Alert.Kind.EMAIL_FAILED, ticket=message.ticket).exists()
    assert ascii_sink.received == []


def test_an_internationalised_domain_alone_needs_no_smtputf8(ascii_sink: SmtpSink) -> None:
    ticket = TicketFactory(customer_name="Jo", customer_email="jo@bücher.example")
    assert ticket.assignee is not None
    message = message_create(ticket=ticket, actor=ticket.assignee, body="Hi", public=True)

    assert deliver_item(SOURCE, message.pk).sent

    [envelope] = ascii_sink.handler.envelopes
    assert envelope.rcpt_tos == ["jo@xn--bcher-kva.example"]
