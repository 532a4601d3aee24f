"""Outbound ticket email: what the customer receives, threading, and the
once-only delivery with its retries (tickets.emails, tickets.services.delivery,
tickets.tasks)."""

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import pytest
import time_machine
from django.conf import settings as django_settings
from django.core import mail
from django.utils import timezone

from accounts.models import Customer
from tests.factories import TicketFactory, advance
from tests.smtp import SmtpSink
from tickets.emails import MAX_REFERENCES
from tickets.models import Kind, Message, Ticket
from tickets.services import message_create, ticket_acknowledge, ticket_commit
from tickets.services.delivery import (
    CLAIM_TIMEOUT,
    MAX_ATTEMPTS,
    REQUEUE_AFTER,
    DeliveryFailed,
    DeliveryImpossible,
    message_deliver,
    messages_requeue_stalled,
)
from tickets.tasks import backoff_seconds, message_send_email

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


@pytest.fixture
def deliver_on_commit(django_capture_on_commit_callbacks: Any, settings: Any) -> Iterator[Any]:
    """Run on-commit callbacks (the queued email tasks) eagerly, in-process."""
    from helpdesk.celery import app

    settings.CELERY_TASK_ALWAYS_EAGER = True
    app.conf.task_always_eager = True
    try:
        yield django_capture_on_commit_callbacks
    finally:
        app.conf.task_always_eager = False


# --- Helpers ---------------------------------------------------------------------------


def ticket_for_maria(**kwargs: Any) -> Ticket:
    return TicketFactory(
        subject="My vase arrived broken",
        customer_name="Maria Silva",
        customer_email="maria@example.com",
        **kwargs,
    )


def reply(ticket: Ticket, body: str = "We are looking into it.") -> Message:
    assert ticket.assignee is not None
    return message_create(ticket=ticket, actor=ticket.assignee, body=body, public=True)


def claimed_by_another_worker(message: Message, *, at: datetime) -> None:
    """What a worker's claim leaves on the row while it is sending."""
    Message.objects.filter(pk=message.pk).update(
        delivery_status=Message.Delivery.SENDING, delivery_claimed_at=at, delivery_attempts=1
    )


def body_of(received: EmailMessage, subtype: str) -> str:
    part = received.get_body(preferencelist=(subtype,))
    assert part is not None, f"no text/{subtype} part"
    return part.get_content()


# --- Content and headers ---------------------------------------------------------------


@pytest.mark.django_db
def test_first_reply_email_has_reference_subject_customer_address_and_both_bodies(
    smtp_sink: SmtpSink,
) -> None:
    ticket = ticket_for_maria()
    message = reply(ticket, body="A new vase ships today.")

    assert message_deliver(message_id=message.pk) is True

    [envelope] = smtp_sink.handler.envelopes
    assert envelope.rcpt_tos == ["maria@example.com"]
    [received] = smtp_sink.received
    reference = f"HD-{ticket.pk:06d}"
    # An answer to what the customer raised, the reference at the end (tickets.emails).
    assert received["Subject"] == f"Re: My vase arrived broken [{reference}]"
    [to] = received["To"].addresses
    assert (to.display_name, to.addr_spec) == ("Maria Silva", "maria@example.com")
    assert received["Message-ID"] == message.email_message_id
    assert received["X-Helpdesk-Ticket"] == reference
    # The customer's first message came with no Message-ID: nothing to thread onto.
    assert received["In-Reply-To"] is None
    assert received["References"] is None
    for subtype in ("plain", "html"):
        text = body_of(received, subtype)
        assert "A new vase ships today." in text
        assert reference in text
        assert "Maria Silva" in text


@pytest.mark.django_db
def test_later_replies_are_threaded_on_the_earlier_ones_in_order(smtp_sink: SmtpSink) -> None:
    ticket = ticket_for_maria()
    first, second, third = (reply(ticket, body=f"Update {n}.") for n in (1, 2, 3))

    for message in (first, second, third):
        assert message_deliver(message_id=message.pk) is True

    received = smtp_sink.received
    assert [r["Message-ID"] for r in received] == [
        first.email_message_id,
        second.email_message_id,
        third.email_message_id,
    ]
    assert received[1]["Subject"] == f"Re: My vase arrived broken [HD-{ticket.pk:06d}]"
    assert received[1]["In-Reply-To"] == first.email_message_id
    assert received[1]["References"].split() == [first.email_message_id]
    assert received[2]["Subject"] == f"Re: My vase arrived broken [HD-{ticket.pk:06d}]"
    assert received[2]["In-Reply-To"] == second.email_message_id
    assert received[2]["References"].split() == [first.email_message_id, second.email_message_id]


@pytest.mark.django_db
def test_first_reply_is_threaded_on_the_customers_inbound_message_id(
    smtp_sink: SmtpSink,
) -> None:
    inbound_id = "<CAF3x9w@mail.customer.example>"
    ticket = ticket_for_maria(customer_message_id=inbound_id)
    assert ticket.assignee is not None
    ticket_acknowledge(ticket=ticket, actor=ticket.assignee, message="We have your message.")
    acknowledgement = ticket.messages.get(step="acknowledge")

    assert message_deliver(message_id=acknowledgement.pk) is True

    [received] = smtp_sink.received
    assert received["Subject"] == f"Re: My vase arrived broken [HD-{ticket.pk:06d}]"
    assert received["Message-ID"] == acknowledgement.email_message_id
    assert received["In-Reply-To"] == inbound_id
    assert received["References"].split() == [inbound_id]
    assert "We have your message." in body_of(received, "plain")


@pytest.mark.django_db
def test_long_threads_keep_the_first_and_latest_references() -> None:
    ticket = ticket_for_maria()
    earlier = [reply(ticket, body=f"Update {n}.") for n in range(MAX_REFERENCES + 4)]
    latest = reply(ticket, body="The last one.")

    assert message_deliver(message_id=latest.pk) is True

    sent = mail.outbox[0].message()
    expected = [earlier[0].email_message_id] + [
        m.email_message_id for m in earlier[-(MAX_REFERENCES - 1) :]
    ]
    assert sent["References"].split() == expected
    assert sent["In-Reply-To"] == earlier[-1].email_message_id


@pytest.mark.django_db
def test_html_part_escapes_the_body_and_plain_text_keeps_it_verbatim() -> None:
    message = reply(ticket_for_maria(), body="Use <b>code</b> R&D-42 at checkout.")

    assert message_deliver(message_id=message.pk) is True

    [sent] = mail.outbox
    assert "Use <b>code</b> R&D-42 at checkout." in sent.body
    [(html, mimetype)] = sent.alternatives
    assert mimetype == "text/html"
    assert "Use &lt;b&gt;code&lt;/b&gt; R&amp;D-42 at checkout." in html
    assert "<b>code</b>" not in html


@pytest.mark.django_db
def test_a_customer_name_with_a_comma_is_quoted_in_the_to_header(smtp_sink: SmtpSink) -> None:
    ticket = TicketFactory(customer_name="Silva, Maria", customer_email="maria@example.com")
    message = reply(ticket)

    assert message_deliver(message_id=message.pk) is True

    [received] = smtp_sink.received
    [to] = received["To"].addresses
    assert (to.display_name, to.addr_spec) == ("Silva, Maria", "maria@example.com")


@pytest.mark.django_db
def test_a_message_that_cannot_be_encoded_fails_for_good_without_retrying(
    smtp_sink: SmtpSink,
) -> None:
    ticket = TicketFactory(customer_email="maria@example.com")
    message = reply(ticket)
    Customer.objects.filter(pk=ticket.customer_id).update(email="maria@exa\nmple.com")

    with pytest.raises(DeliveryImpossible):
        message_deliver(message_id=message.pk)

    message.refresh_from_db()
    assert message.delivery_status == Message.Delivery.FAILED
    assert "newlines" in message.delivery_error
    assert smtp_sink.received == []
    assert message_deliver(message_id=message.pk) is False


@pytest.mark.django_db
def test_the_commitment_email_holds_the_due_time_in_the_customers_zone() -> None:
    ticket = ticket_for_maria(kind=Kind.MISHAP)
    Customer.objects.filter(pk=ticket.customer_id).update(time_zone="America/Sao_Paulo")
    with time_machine.travel(T0, tick=False):
        ticket = advance(ticket, to="apologized")
        ticket_commit(
            ticket=ticket,
            actor=ticket.assignee,
            promise="A new vase ships by courier.",
            # 01:30 on the 12th in UTC is still the evening of the 11th in São Paulo.
            due_at=datetime(2025, 3, 12, 1, 30, tzinfo=UTC),
        )
    acknowledgement = ticket.messages.get(step="acknowledge")
    commitment = ticket.messages.get(step="commit")

    for message in (acknowledgement, commitment):
        assert message_deliver(message_id=message.pk) is True

    told_ack, told_commit = mail.outbox
    [(html, _)] = told_commit.alternatives
    # Babel's (CLDR's) English, the zone named by its place.
    promised = (
        "We will have this done by Tuesday, March 11, 2025, 10:30\u202fPM, Brazil (São Paulo) Time."
    )
    for body in (told_commit.body, html):
        assert "A new vase ships by courier." in body
        assert promised in body
        assert "March 12" not in body
    assert "We will have this done" not in told_ack.body


# --- What is sent at all ---------------------------------------------------------------


@pytest.mark.django_db
def test_public_reply_is_emailed_once_the_transaction_commits(deliver_on_commit: Any) -> None:
    ticket = ticket_for_maria()

    with deliver_on_commit(execute=True):
        message = reply(ticket, body="Your refund is on its way.")

    message.refresh_from_db()
    assert message.delivery_status == Message.Delivery.SENT
    assert message.delivered_at is not None
    [sent] = mail.outbox
    assert "Your refund is on its way." in sent.body


@pytest.mark.django_db
def test_internal_note_is_never_emailed(deliver_on_commit: Any) -> None:
    ticket = ticket_for_maria()
    assert ticket.assignee is not None

    with deliver_on_commit(execute=True):
        note = message_create(
            ticket=ticket, actor=ticket.assignee, body="She sounds upset.", public=False
        )

    note.refresh_from_db()
    assert note.delivery_status == Message.Delivery.NOT_SENT
    assert note.email_message_id is None
    assert message_deliver(message_id=note.pk) is False
    assert mail.outbox == []


@pytest.mark.django_db
def test_the_customers_own_message_is_never_emailed_back() -> None:
    ticket = ticket_for_maria(customer_message_id="<first@mail.customer.example>")
    inbound = ticket.messages.get()

    assert message_deliver(message_id=inbound.pk) is False
    assert mail.outbox == []


# --- Once only -------------------------------------------------------------------------


@pytest.mark.django_db
def test_delivering_twice_sends_one_email() -> None:
    message = reply(ticket_for_maria())

    assert message_deliver(message_id=message.pk) is True
    assert message_deliver(message_id=message.pk) is False

    assert len(mail.outbox) == 1
    message.refresh_from_db()
    assert message.delivery_status == Message.Delivery.SENT
    assert message.delivery_attempts == 1


@pytest.mark.django_db
def test_message_being_sent_by_another_worker_is_not_sent_again() -> None:
    message = reply(ticket_for_maria())
    claimed_by_another_worker(message, at=timezone.now() - CLAIM_TIMEOUT + timedelta(minutes=1))

    assert message_deliver(message_id=message.pk) is False

    assert mail.outbox == []
    message.refresh_from_db()
    assert message.delivery_status == Message.Delivery.SENDING
    assert message.delivery_attempts == 1


@pytest.mark.django_db
def test_a_stale_claim_is_taken_over_and_the_message_sent() -> None:
    with time_machine.travel(T0, tick=False) as traveller:
        message = reply(ticket_for_maria())
        claimed_by_another_worker(message, at=timezone.now())
        traveller.shift(CLAIM_TIMEOUT + timedelta(seconds=1))

        assert message_deliver(message_id=message.pk) is True

    assert len(mail.outbox) == 1
    message.refresh_from_db()
    assert message.delivery_status == Message.Delivery.SENT
    assert message.delivery_attempts == 2


# --- Failures and retries --------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.usefixtures("no_smtp_server")
def test_unreachable_mail_server_raises_and_leaves_the_message_pending() -> None:
    message = reply(ticket_for_maria())

    with pytest.raises(DeliveryFailed):
        message_deliver(message_id=message.pk)

    message.refresh_from_db()
    assert message.delivery_status == Message.Delivery.PENDING
    assert message.delivery_attempts == 1
    assert "ConnectionRefusedError" in message.delivery_error
    assert message.delivery_claimed_at is not None  # the time of the last attempt
    assert message.delivered_at is None


@pytest.mark.django_db
def test_refused_message_stays_pending_until_the_last_attempt_then_fails(
    smtp_sink: SmtpSink,
) -> None:
    smtp_sink.handler.refuse_next = MAX_ATTEMPTS + 1
    message = reply(ticket_for_maria())

    for attempt in range(1, MAX_ATTEMPTS):
        with pytest.raises(DeliveryFailed):
            message_deliver(message_id=message.pk)
        message.refresh_from_db()
        assert message.delivery_status == Message.Delivery.PENDING
        assert message.delivery_attempts == attempt
        assert "554" in message.delivery_error

    with pytest.raises(DeliveryFailed):
        message_deliver(message_id=message.pk)
    message.refresh_from_db()
    assert message.delivery_status == Message.Delivery.FAILED
    assert message.delivery_attempts == MAX_ATTEMPTS
    assert "554" in message.delivery_error

    # Failed for good: not tried again.
    assert message_deliver(message_id=message.pk) is False
    assert smtp_sink.handler.refused == MAX_ATTEMPTS
    assert smtp_sink.handler.envelopes == []


@pytest.mark.django_db
def test_a_successful_send_clears_the_previous_error(smtp_sink: SmtpSink) -> None:
    smtp_sink.handler.refuse_next = 1
    message = reply(ticket_for_maria())
    with pytest.raises(DeliveryFailed):
        message_deliver(message_id=message.pk)

    assert message_deliver(message_id=message.pk) is True

    message.refresh_from_db()
    assert message.delivery_status == Message.Delivery.SENT
    assert message.delivery_error == ""
    assert message.delivery_attempts == 2
    assert len(smtp_sink.received) == 1


@pytest.mark.django_db
def test_send_task_retries_a_refused_message_until_it_fails(
    smtp_sink: SmtpSink, caplog: pytest.LogCaptureFixture
) -> None:
    smtp_sink.handler.refuse_next = MAX_ATTEMPTS + 5
    message = reply(ticket_for_maria())

    with caplog.at_level(logging.WARNING, logger="tickets.tasks"):
        result = message_send_email.apply(args=[message.pk])

    assert result.successful()
    message.refresh_from_db()
    assert message.delivery_status == Message.Delivery.FAILED
    assert message.delivery_attempts == MAX_ATTEMPTS
    assert smtp_sink.handler.refused == MAX_ATTEMPTS
    assert smtp_sink.handler.envelopes == []
    assert f"Message {message.pk} could not be emailed" in caplog.text


@pytest.mark.django_db
def test_send_task_delivers_once_the_server_accepts_again(smtp_sink: SmtpSink) -> None:
    smtp_sink.handler.refuse_next = 2
    message = reply(ticket_for_maria())

    message_send_email.apply(args=[message.pk])

    message.refresh_from_db()
    assert message.delivery_status == Message.Delivery.SENT
    assert message.delivery_attempts == 3
    assert len(smtp_sink.received) == 1


def test_retry_backoff_doubles_and_stays_within_the_broker_visibility_timeout() -> None:
    delays = [backoff_seconds(n) for n in range(message_send_email.max_retries)]

    assert delays == [30, 60, 120, 240]
    assert backoff_seconds(20) == 900
    visibility_timeout = django_settings.CELERY_BROKER_TRANSPORT_OPTIONS.get(
        "visibility_timeout", 3600
    )
    assert backoff_seconds(100) < visibility_timeout


# --- Requeueing lost sends -------------------------------------------------------------


@pytest.mark.django_db
def test_requeue_returns_a_pending_message_older_than_the_requeue_delay() -> None:
    with time_machine.travel(T0, tick=False) as traveller:
        message = reply(ticket_for_maria())
        traveller.shift(REQUEUE_AFTER + timedelta(seconds=1))

        assert messages_requeue_stalled() == [message.pk]


@pytest.mark.django_db
def test_requeue_leaves_a_fresh_pending_message_alone() -> None:
    with time_machine.travel(T0, tick=False) as traveller:
        reply(ticket_for_maria())
        traveller.shift(REQUEUE_AFTER - timedelta(seconds=1))

        assert messages_requeue_stalled() == []


@pytest.mark.django_db
def test_requeue_leaves_sent_messages_and_notes_alone() -> None:
    with time_machine.travel(T0, tick=False) as traveller:
        ticket = ticket_for_maria()
        sent = reply(ticket)
        assert message_deliver(message_id=sent.pk) is True
        assert ticket.assignee is not None
        message_create(ticket=ticket, actor=ticket.assignee, body="A note.", public=False)
        traveller.shift(timedelta(days=1))

        assert messages_requeue_stalled() == []


@pytest.mark.django_db
def test_requeue_returns_a_message_whose_sender_died_but_not_one_still_sending() -> None:
    with time_machine.travel(T0, tick=False) as traveller:
        ticket = ticket_for_maria()
        abandoned, in_flight = reply(ticket), reply(ticket)
        claimed_by_another_worker(abandoned, at=timezone.now())
        traveller.shift(CLAIM_TIMEOUT - timedelta(minutes=1))
        claimed_by_another_worker(in_flight, at=timezone.now())
        traveller.shift(timedelta(minutes=1, seconds=1))

        assert messages_requeue_stalled() == [abandoned.pk]


@pytest.mark.django_db
@pytest.mark.usefixtures("no_smtp_server")
def test_requeue_leaves_a_message_waiting_for_its_retry_alone() -> None:
    with time_machine.travel(T0, tick=False) as traveller:
        message = reply(ticket_for_maria())
        traveller.shift(REQUEUE_AFTER * 2)
        with pytest.raises(DeliveryFailed):
            message_deliver(message_id=message.pk)
        # The task's retry is due after backoff_seconds(0); beat runs before it.
        traveller.shift(timedelta(seconds=10))

        assert messages_requeue_stalled() == []
