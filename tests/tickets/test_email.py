"""Outbound ticket email: what the customer receives, threading, and its
delivery through the outbox, once, with its retries (tickets.emails,
tickets.services.delivery, outbox)."""

import logging
import uuid
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import pytest
import time_machine
from django.conf import settings as django_settings
from django.core import mail
from django.utils import timezone

from accounts.models import Customer
from outbox.models import OutboxItem
from outbox.outcomes import retry_delay
from outbox.services import outbox_sweep
from outbox.tasks import outbox_dispatch_task
from tests.delivery import deliver_item, item_for, make_due
from tests.factories import TicketFactory, advance
from tests.helpers import assignee_of, free_port, html_of, sent_emails
from tests.smtp import SmtpSink
from tickets.emails import MAX_REFERENCES, staff_name
from tickets.models import Alert, Kind, Message, Ticket
from tickets.services import message_create, ticket_acknowledge, ticket_commit
from tickets.services.delivery import SOURCE

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


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


def deliver(message: Message) -> bool:
    """Dispatch the message's outbox row as its task would: True if it was sent now."""
    return bool(deliver_item(SOURCE, message.pk).sent)


def claimed_by_another_worker(message: Message, *, until: datetime) -> None:
    """What a worker's claim leaves on the outbox row while it is sending."""
    OutboxItem.objects.filter(pk=item_for(SOURCE, message.pk).pk).update(
        status=OutboxItem.Status.SENDING, lease_token=uuid.uuid4(), lease_until=until
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

    assert deliver(message) is True

    [envelope] = smtp_sink.handler.envelopes
    assert envelope.rcpt_tos == ["maria@example.com"]
    [received] = smtp_sink.received
    reference = f"HD-{ticket.pk:06d}"
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
        # Our greeting, since the agent wrote none; and the agent's signature.
        assert "Hello Maria Silva," in text
        assert staff_name(ticket.assignee) in text


@pytest.mark.django_db
def test_later_replies_are_threaded_on_the_earlier_ones_in_order(smtp_sink: SmtpSink) -> None:
    ticket = ticket_for_maria()
    first, second, third = (reply(ticket, body=f"Update {n}.") for n in (1, 2, 3))

    for message in (first, second, third):
        assert deliver(message) is True

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

    assert deliver(acknowledgement) is True

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

    assert deliver(latest) is True

    sent = mail.outbox[0].message()
    expected = [earlier[0].email_message_id] + [
        m.email_message_id for m in earlier[-(MAX_REFERENCES - 1) :]
    ]
    assert sent["References"].split() == expected
    assert sent["In-Reply-To"] == earlier[-1].email_message_id


@pytest.mark.django_db
def test_html_part_escapes_the_body_and_plain_text_keeps_it_verbatim() -> None:
    message = reply(ticket_for_maria(), body="Use <b>code</b> R&D-42 at checkout.")

    assert deliver(message) is True

    [sent] = sent_emails()
    assert "Use <b>code</b> R&D-42 at checkout." in sent.body
    html = html_of(sent)
    assert "Use &lt;b&gt;code&lt;/b&gt; R&amp;D-42 at checkout." in html
    assert "<b>code</b>" not in html


@pytest.mark.django_db
def test_a_customer_name_with_a_comma_is_quoted_in_the_to_header(smtp_sink: SmtpSink) -> None:
    ticket = TicketFactory(customer_name="Silva, Maria", customer_email="maria@example.com")
    message = reply(ticket)

    assert deliver(message) is True

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

    dispatch = deliver_item(SOURCE, message.pk)

    item = item_for(SOURCE, message.pk)
    assert list(dispatch.failed) == [item.pk]
    assert item.status == OutboxItem.Status.FAILED
    message.refresh_from_db()
    assert message.delivery_status == Message.Delivery.FAILED
    assert message.delivery_attempts == 1
    assert "newlines" in message.delivery_error
    assert smtp_sink.received == []
    make_due()
    assert deliver(message) is False


@pytest.mark.django_db
def test_the_commitment_email_holds_the_due_time_in_the_customers_zone() -> None:
    ticket = ticket_for_maria(kind=Kind.MISHAP)
    Customer.objects.filter(pk=ticket.customer_id).update(time_zone="America/Sao_Paulo")
    with time_machine.travel(T0, tick=False):
        ticket = advance(ticket, to="apologized")
        ticket_commit(
            ticket=ticket,
            actor=assignee_of(ticket),
            promise="A new vase ships by courier.",
            # 01:30 on the 12th in UTC is still the evening of the 11th in São Paulo.
            due_at=datetime(2025, 3, 12, 1, 30, tzinfo=UTC),
        )
    acknowledgement = ticket.messages.get(step="acknowledge")
    commitment = ticket.messages.get(step="commit")

    for message in (acknowledgement, commitment):
        assert deliver(message) is True

    told_ack, told_commit = sent_emails()
    html = html_of(told_commit)
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
    assert not OutboxItem.objects.filter(source=SOURCE, source_id=note.pk).exists()
    assert mail.outbox == []


@pytest.mark.django_db
def test_the_customers_own_message_is_never_emailed_back() -> None:
    ticket = ticket_for_maria(customer_message_id="<first@mail.customer.example>")
    inbound = ticket.messages.get()

    assert not OutboxItem.objects.filter(source=SOURCE, source_id=inbound.pk).exists()
    assert mail.outbox == []


# --- Once only -------------------------------------------------------------------------


@pytest.mark.django_db
def test_delivering_twice_sends_one_email() -> None:
    message = reply(ticket_for_maria())

    assert deliver(message) is True
    assert deliver(message) is False

    assert len(mail.outbox) == 1
    message.refresh_from_db()
    assert message.delivery_status == Message.Delivery.SENT
    assert message.delivery_attempts == 1
    assert item_for(SOURCE, message.pk).status == OutboxItem.Status.SENT


@pytest.mark.django_db
def test_two_tasks_for_one_message_send_it_once(queued_tasks: list[Any]) -> None:
    """The task queued on commit and the one a sweep queued for the same row
    (the first was late, not lost): one email."""
    message = reply(ticket_for_maria())
    assert outbox_sweep().tasks == 1

    outbox_dispatch_task(item_ids=[item_for(SOURCE, message.pk).pk])
    [any_due] = queued_tasks
    outbox_dispatch_task(item_ids=any_due)

    assert len(mail.outbox) == 1
    message.refresh_from_db()
    assert message.delivery_attempts == 1


@pytest.mark.django_db
def test_message_being_sent_by_another_worker_is_not_sent_again(queued_tasks: list[Any]) -> None:
    message = reply(ticket_for_maria())
    claimed_by_another_worker(message, until=timezone.now() + timedelta(minutes=1))

    assert deliver(message) is False
    # The sweep leaves a claim that has not lapsed alone.
    assert outbox_sweep().reclaimed == 0

    assert mail.outbox == []
    assert item_for(SOURCE, message.pk).status == OutboxItem.Status.SENDING
    message.refresh_from_db()
    assert message.delivery_status == Message.Delivery.PENDING
    assert message.delivery_attempts == 0


@pytest.mark.django_db
def test_a_lapsed_claim_is_taken_over_and_the_message_sent(
    settings: Any, queued_tasks: list[Any]
) -> None:
    with time_machine.travel(T0, tick=False) as traveller:
        message = reply(ticket_for_maria())
        # A worker claimed it and died before the server accepted the mail.
        claimed_by_another_worker(message, until=timezone.now() + settings.HELPDESK_OUTBOX_LEASE)
        traveller.shift(settings.HELPDESK_OUTBOX_LEASE + timedelta(seconds=1))

        assert outbox_sweep().reclaimed == 1
        assert deliver(message) is True

    assert len(mail.outbox) == 1
    message.refresh_from_db()
    assert message.delivery_status == Message.Delivery.SENT
    # Only attempts that ended are counted: the dead worker's never did.
    assert message.delivery_attempts == 1


# --- Failures and retries --------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.usefixtures("no_smtp_server")
def test_unreachable_mail_server_leaves_the_message_pending_for_a_retry() -> None:
    message = reply(ticket_for_maria())

    dispatch = deliver_item(SOURCE, message.pk)

    item = item_for(SOURCE, message.pk)
    assert list(dispatch.retrying) == [item.pk]
    assert item.status == OutboxItem.Status.PENDING
    assert item.due_at > timezone.now()  # after its backoff
    assert item.last_attempt_at is not None
    message.refresh_from_db()
    assert message.delivery_status == Message.Delivery.PENDING
    assert message.delivery_attempts == 1
    assert "ConnectionRefusedError" in message.delivery_error
    assert message.delivered_at is None


@pytest.mark.django_db
@pytest.mark.usefixtures("no_smtp_server")
def test_an_unreachable_server_is_retried_until_the_retry_period_ends_then_the_message_fails(
    settings: Any,
) -> None:
    settings.HELPDESK_OUTBOX_RETRY_FOR = timedelta(hours=1)
    with time_machine.travel(T0, tick=False) as traveller:
        ticket = ticket_for_maria()
        message = reply(ticket)
        for attempt in (1, 2):
            make_due()
            assert deliver(message) is False
            message.refresh_from_db()
            assert message.delivery_status == Message.Delivery.PENDING
            assert message.delivery_attempts == attempt
            traveller.shift(timedelta(minutes=20))

        traveller.shift(timedelta(minutes=21))  # an hour after the first failure
        make_due()
        dispatch = deliver_item(SOURCE, message.pk)

    item = item_for(SOURCE, message.pk)
    assert list(dispatch.failed) == [item.pk]
    assert item.status == OutboxItem.Status.FAILED
    message.refresh_from_db()
    assert message.delivery_status == Message.Delivery.FAILED
    assert message.delivery_attempts == 3
    assert "Gave up after 3 attempts" in message.delivery_error
    assert "ConnectionRefusedError" in message.delivery_error


@pytest.mark.django_db
def test_a_message_refused_for_good_fails_at_once_and_its_assignee_is_told(
    smtp_sink: SmtpSink,
) -> None:
    smtp_sink.handler.refuse_next = 5
    ticket = ticket_for_maria()
    message = reply(ticket)

    assert deliver(message) is False

    message.refresh_from_db()
    assert message.delivery_status == Message.Delivery.FAILED
    assert message.delivery_attempts == 1
    assert "554" in message.delivery_error
    alert = Alert.objects.get(ticket=ticket, kind=Alert.Kind.EMAIL_FAILED)
    assert list(alert.recipients.all()) == [ticket.assignee]
    assert "maria@example.com" in alert.detail
    assert "554" in alert.detail
    # Failed for good: not tried again.
    make_due()
    assert deliver(message) is False
    assert smtp_sink.handler.refused == 1
    assert smtp_sink.handler.envelopes == []


@pytest.mark.django_db
def test_a_successful_send_clears_the_previous_error(smtp_sink: SmtpSink, settings: Any) -> None:
    message = reply(ticket_for_maria())
    port, settings.EMAIL_PORT = settings.EMAIL_PORT, free_port()  # the server is away
    assert deliver(message) is False
    settings.EMAIL_PORT = port

    make_due()
    assert deliver(message) is True

    message.refresh_from_db()
    assert message.delivery_status == Message.Delivery.SENT
    assert message.delivery_error == ""
    assert message.delivery_attempts == 2
    assert len(smtp_sink.received) == 1


@pytest.mark.django_db
def test_the_dispatch_task_marks_a_refused_message_failed_and_says_so(
    smtp_sink: SmtpSink, caplog: pytest.LogCaptureFixture
) -> None:
    smtp_sink.handler.refuse_next = 5
    message = reply(ticket_for_maria())

    with caplog.at_level(logging.WARNING, logger="outbox.dispatch"):
        result = outbox_dispatch_task.apply(args=([item_for(SOURCE, message.pk).pk],))

    assert result.successful()
    message.refresh_from_db()
    assert message.delivery_status == Message.Delivery.FAILED
    assert message.delivery_attempts == 1
    assert smtp_sink.handler.refused == 1
    assert smtp_sink.handler.envelopes == []
    assert f"Outbox row {item_for(SOURCE, message.pk).pk} failed for good" in caplog.text


@pytest.mark.django_db
def test_a_dispatch_task_delivers_once_the_server_accepts_again(
    smtp_sink: SmtpSink, settings: Any
) -> None:
    message = reply(ticket_for_maria())
    port, settings.EMAIL_PORT = settings.EMAIL_PORT, free_port()  # the server is away
    outbox_dispatch_task.apply(args=([item_for(SOURCE, message.pk).pk],))
    outbox_dispatch_task.apply(args=(None,))  # not due again yet: nothing to do
    settings.EMAIL_PORT = port

    make_due()
    # The kind of task the sweep queues: any due rows.
    outbox_dispatch_task.apply(args=(None,))

    message.refresh_from_db()
    assert message.delivery_status == Message.Delivery.SENT
    assert message.delivery_attempts == 2
    assert len(smtp_sink.received) == 1


@pytest.mark.django_db
@pytest.mark.usefixtures("no_smtp_server")
def test_each_retry_waits_about_twice_as_long_up_to_the_cap() -> None:
    message = reply(ticket_for_maria())
    base = django_settings.HELPDESK_OUTBOX_RETRY_BASE
    for attempt in (1, 2, 3):
        make_due()
        before = timezone.now()
        deliver(message)
        wait = item_for(SOURCE, message.pk).due_at - before
        # Drawn between half and all of base * 2^(attempt-1), so rows refused
        # together do not come back together.
        full = base * 2 ** (attempt - 1)
        assert full / 2 <= wait <= full + timedelta(seconds=5)

    cap = django_settings.HELPDESK_OUTBOX_RETRY_CAP
    assert cap / 2 <= retry_delay(100) <= cap


# --- The sweep: lost tasks and dead workers ---------------------------------------------


@pytest.mark.django_db
def test_the_sweep_hands_a_message_whose_task_was_lost_to_a_worker(
    queued_tasks: list[Any],
) -> None:
    message = reply(ticket_for_maria())  # its task, queued on commit, is lost

    sweep = outbox_sweep()

    assert (sweep.due, sweep.tasks) == (1, 1)
    [any_due] = queued_tasks
    outbox_dispatch_task(item_ids=any_due)
    message.refresh_from_db()
    assert message.delivery_status == Message.Delivery.SENT
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_the_sweep_leaves_sent_messages_and_notes_alone(queued_tasks: list[Any]) -> None:
    with time_machine.travel(T0, tick=False) as traveller:
        ticket = ticket_for_maria()
        sent = reply(ticket)
        assert deliver(sent) is True
        assert ticket.assignee is not None
        message_create(ticket=ticket, actor=ticket.assignee, body="A note.", public=False)
        traveller.shift(timedelta(days=1))

        sweep = outbox_sweep()

    assert (sweep.reclaimed, sweep.due, sweep.tasks) == (0, 0, 0)
    assert queued_tasks == []


@pytest.mark.django_db
def test_the_sweep_reclaims_a_message_whose_sender_died_but_not_one_still_sending(
    settings: Any, queued_tasks: list[Any]
) -> None:
    lease = settings.HELPDESK_OUTBOX_LEASE
    with time_machine.travel(T0, tick=False) as traveller:
        ticket = ticket_for_maria()
        abandoned, in_flight = reply(ticket), reply(ticket)
        claimed_by_another_worker(abandoned, until=timezone.now() + lease)
        traveller.shift(lease - timedelta(seconds=30))
        claimed_by_another_worker(in_flight, until=timezone.now() + lease)
        traveller.shift(timedelta(seconds=31))

        sweep = outbox_sweep()

    assert (sweep.reclaimed, sweep.due, sweep.tasks) == (1, 1, 1)
    assert item_for(SOURCE, abandoned.pk).status == OutboxItem.Status.PENDING
    assert item_for(SOURCE, in_flight.pk).status == OutboxItem.Status.SENDING


@pytest.mark.django_db
@pytest.mark.usefixtures("no_smtp_server")
def test_the_sweep_leaves_a_message_waiting_for_its_retry_alone(queued_tasks: list[Any]) -> None:
    with time_machine.travel(T0, tick=False) as traveller:
        message = reply(ticket_for_maria())
        assert deliver(message) is False
        # Beat runs before the backoff has passed...
        traveller.shift(django_settings.HELPDESK_OUTBOX_RETRY_BASE / 2 - timedelta(seconds=1))
        assert outbox_sweep().due == 0
        # ...and hands it to a worker once it has.
        traveller.shift(django_settings.HELPDESK_OUTBOX_RETRY_BASE / 2 + timedelta(seconds=2))
        assert outbox_sweep().due == 1

    assert len(queued_tasks) == 1


# --- A person's voice, in the customer's language ------------------------------------------


@pytest.mark.django_db
def test_an_agent_who_greets_is_not_greeted_over_and_signs_the_email() -> None:
    ticket = ticket_for_maria()
    agent = assignee_of(ticket)
    agent.first_name, agent.last_name = "Ana", "Costa"
    agent.save(update_fields=["first_name", "last_name"])
    message = reply(ticket, body="Hi Maria,\n\nA new vase ships today.")

    assert deliver(message) is True

    [sent] = sent_emails()
    for body in (sent.body, html_of(sent)):
        assert "Hi Maria," in body
        assert "Hello" not in body
        assert "Dear" not in body
        assert "Ana Costa" in body
    assert sent.from_email == '"Ana Costa (Helpdesk)" <help@localhost>'
    # No system headings: the agent's words are the email.
    assert "<h1" not in html_of(sent)


@pytest.mark.django_db
def test_a_brazilian_customer_reads_portuguese_marked_pt_br() -> None:
    ticket = ticket_for_maria(kind=Kind.MISHAP)
    Customer.objects.filter(pk=ticket.customer_id).update(
        locale="pt-BR", time_zone="America/Sao_Paulo"
    )
    with time_machine.travel(T0, tick=False):
        ticket = advance(ticket, to="apologized")
        ticket_commit(
            ticket=ticket,
            actor=assignee_of(ticket),
            promise="Um vaso novo segue por courier.",
            due_at=datetime(2025, 3, 12, 1, 30, tzinfo=UTC),
        )
    commitment = ticket.messages.get(step="commit")

    assert deliver(commitment) is True

    sent = sent_emails()[-1]
    html = html_of(sent)
    assert '<html lang="pt-BR">' in html
    assert sent.extra_headers["Content-Language"] == "pt-BR"
    promised = "Teremos isso resolvido até terça-feira, 11 de março de 2025 22:30, "
    for body in (sent.body, html):
        assert "Olá, Maria Silva," in body
        assert promised in body
        assert "Horário Brasil (São Paulo)" in body
        assert f"Responda a este e-mail para falar conosco. Referência {ticket.reference}." in body
        assert "Reply to this email" not in body


@pytest.mark.django_db
@pytest.mark.parametrize("locale", ["ja", "zz-Latn"])
def test_a_customer_in_a_language_we_do_not_ship_reads_english_marked_en(locale: str) -> None:
    ticket = ticket_for_maria()
    Customer.objects.filter(pk=ticket.customer_id).update(locale=locale)
    message = reply(ticket)

    assert deliver(message) is True

    [sent] = sent_emails()
    assert '<html lang="en">' in html_of(sent)
    assert sent.extra_headers["Content-Language"] == "en"
    assert sent.body.startswith("Hello Maria Silva,\n\nWe are looking into it.")
