import pytest
from django.core import mail

from accounts.models import Customer, User
from inbound.models import InboundEmail
from inbound.services import inbound_discard, inbound_receive, inbound_retry
from recovery.models import FollowUp
from tests.factories import TicketFactory, advance
from tests.inbound.mail import raw_email, receive
from tickets.emails import build_ticket_email
from tickets.models import Kind, Message, Status, Ticket
from tickets.services import message_create

pytestmark = pytest.mark.django_db

Outcome = InboundEmail.Outcome


def test_a_new_email_opens_a_ticket_for_a_new_customer() -> None:
    raw = raw_email(sender="Pat Customer <Pat@Example.com>")
    email = receive(raw)

    ticket = email.ticket
    assert ticket is not None
    assert (email.status, email.outcome) == (InboundEmail.Status.PROCESSED, Outcome.NEW_TICKET)
    assert (ticket.subject, ticket.channel, ticket.status) == (
        "My order never came",
        "email",
        "new",
    )
    assert ticket.customer.email == "pat@example.com"
    assert ticket.customer.name == "Pat Customer"
    assert ticket.messages.get().body == "Hello, my parcel is lost."
    # Kept byte for byte as it arrived (psycopg hands bytea back as bytes).
    stored = InboundEmail.objects.get(pk=email.pk).raw
    assert isinstance(stored, bytes)
    assert stored == raw
    assert stored.startswith(b"From: Pat Customer <Pat@Example.com>")


def test_an_existing_customer_is_matched_by_address_whatever_its_case() -> None:
    first = receive(raw_email(sender="pat@example.com"))
    second = receive(raw_email(sender="PAT@EXAMPLE.COM", subject="Another thing"))

    assert first.ticket.customer_id == second.ticket.customer_id  # type: ignore[union-attr]
    assert Customer.objects.count() == 1


@pytest.mark.parametrize("header", ["In-Reply-To", "References"])
def test_a_reply_threads_by_the_message_it_answers(agent: User, header: str) -> None:
    ticket = TicketFactory(actor=agent, customer_email="pat@example.com")
    ours = message_create(ticket=ticket, actor=agent, body="We are on it.", public=True)
    headers = (
        {"in_reply_to": ours.email_message_id}
        if header == "In-Reply-To"
        else {"references": f"<older@customer.example> {ours.email_message_id}"}
    )

    email = receive(raw_email(subject="Re: something else", body="Thanks!", **headers))

    assert (email.ticket, email.outcome) == (ticket, Outcome.REPLY)
    assert ticket.messages.latest("id").body == "Thanks!"


def test_a_guessed_followup_message_id_does_not_let_a_stranger_in(
    agent: User, settings: object
) -> None:
    ticket = TicketFactory(actor=agent, customer_email="pat@example.com")
    guessed = f"<followup-1.{ticket.reference}@{settings.HELPDESK_EMAIL_DOMAIN}>"  # type: ignore[attr-defined]

    email = receive(raw_email(sender="eve@example.com", in_reply_to=guessed))

    assert email.ticket != ticket
    assert email.outcome == Outcome.NEW_TICKET


def test_a_delivery_status_report_is_ignored() -> None:
    report = (
        b"From: Mail System <system@mx.example.com>\r\nSubject: Undelivered\r\n"
        b"MIME-Version: 1.0\r\n"
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="b1"\r\n\r\n'
        b"--b1\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
        b"--b1\r\nContent-Type: message/delivery-status\r\n\r\n"
        b"Reporting-MTA: dns; mx.example.com\r\n\r\n--b1--\r\n"
    )

    email = receive(report)

    assert email.status == InboundEmail.Status.IGNORED
    assert email.reason == "automatic message (delivery or read report)"


def test_a_reply_to_a_followup_threads_by_the_reference_in_our_message_id(
    agent: User, settings: object
) -> None:
    ticket = TicketFactory(actor=agent, customer_email="pat@example.com")
    followup_id = f"<followup-99.{ticket.reference}@{settings.HELPDESK_EMAIL_DOMAIN}>"  # type: ignore[attr-defined]

    email = receive(raw_email(subject="Re: One week on", in_reply_to=followup_id))

    assert email.ticket == ticket


def test_the_subject_reference_threads_only_the_tickets_own_customer(agent: User) -> None:
    ticket = TicketFactory(actor=agent, customer_email="pat@example.com")

    own = receive(raw_email(sender="pat@example.com", subject=f"Re: [{ticket.reference}] Parcel"))
    stranger = receive(
        raw_email(sender="eve@example.com", subject=f"Re: [{ticket.reference}] Parcel")
    )

    assert own.ticket == ticket
    assert stranger.ticket != ticket
    assert stranger.outcome == Outcome.NEW_TICKET


@pytest.mark.parametrize("final", [Status.RESOLVED, Status.CLOSED])
def test_a_reply_to_a_finished_question_reopens_it(agent: User, final: str) -> None:
    ticket = advance(TicketFactory(actor=agent, customer_email="pat@example.com"), to=final)

    email = receive(raw_email(subject=f"Re: [{ticket.reference}]", body="It broke again."))

    ticket.refresh_from_db()
    assert email.outcome == Outcome.REOPENED
    assert ticket.status == Status.ACKNOWLEDGED
    event = ticket.events.filter(action="reopen").get()
    assert event.payload["by_customer"] is True
    assert "It broke again." in event.payload["reason"]


def test_a_reply_during_rebuilding_reopens_the_mishap(agent: User) -> None:
    ticket = advance(
        TicketFactory(actor=agent, kind=Kind.MISHAP, customer_email="pat@example.com"),
        to=Status.REBUILDING,
    )

    receive(raw_email(subject=f"Re: [{ticket.reference}]", body="Still broken."))

    ticket.refresh_from_db()
    assert ticket.status == Status.ACKNOWLEDGED


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({"Auto-Submitted": "auto-replied"}, "Auto-Submitted: auto-replied"),
        ({"Precedence": "bulk"}, "Precedence: bulk"),
        ({"Precedence": "junk"}, "Precedence: junk"),
        ({"Precedence": "list"}, "Precedence: list"),
        ({"X-Autoreply": "yes"}, "X-Autoreply header"),
    ],
)
def test_automatic_messages_change_nothing_and_send_nothing(
    agent: User, headers: dict[str, str], reason: str
) -> None:
    ticket = advance(
        TicketFactory(actor=agent, customer_email="pat@example.com"), to=Status.RESOLVED
    )
    ours = ticket.messages.filter(author_kind="agent").latest("id")
    messages = Message.objects.count()
    mail.outbox.clear()

    email = receive(
        raw_email(subject="Out of office", in_reply_to=ours.email_message_id, headers=headers)
    )

    assert email.status == InboundEmail.Status.IGNORED
    assert reason in email.reason
    assert Message.objects.count() == messages
    ticket.refresh_from_db()
    assert ticket.status == Status.RESOLVED
    assert mail.outbox == []


def test_a_bounce_from_the_mailer_daemon_is_ignored() -> None:
    email = receive(raw_email(sender="MAILER-DAEMON@mx.example.com", subject="Undelivered Mail"))

    assert email.status == InboundEmail.Status.IGNORED
    assert not Ticket.objects.exists()


def test_our_own_message_coming_back_is_ignored(agent: User) -> None:
    ticket = TicketFactory(actor=agent, customer_email="pat@example.com")
    ours = message_create(ticket=ticket, actor=agent, body="We are on it.", public=True)

    # Exactly as the desk sent it, delivered back to its own mailbox.
    email = receive(bytes(build_ticket_email(ours).message()))

    assert email.status == InboundEmail.Status.IGNORED
    assert "our own" in email.reason
    assert ticket.messages.count() == 2  # the customer's first message and ours


def test_our_own_followup_coming_back_is_ignored(agent: User) -> None:
    ticket = TicketFactory(actor=agent, customer_email="pat@example.com")
    followup = FollowUp(pk=5, ticket=ticket)

    email = receive(raw_email(sender="help@localhost", message_id=followup.message_id))

    assert email.status == InboundEmail.Status.IGNORED


# With the default from address the desk's domain is localhost, which
# customers' mail clients put in their Message-IDs too (issue 14).
@pytest.mark.parametrize(
    "message_id",
    [
        "<20261203100744.1234.99@localhost>",
        "<abc.HD-000001@localhost>",
        # Our form, but unsigned: not ours either.
        "<hd.HD-000001.0123456789abcdef0123.0123456789abcdef@localhost>",
    ],
)
def test_a_customers_message_id_on_our_domain_opens_a_ticket(
    settings: object, message_id: str
) -> None:
    settings.HELPDESK_EMAIL_DOMAIN = "localhost"  # type: ignore[attr-defined]

    email = receive(raw_email(message_id=message_id))

    assert (email.status, email.outcome) == (InboundEmail.Status.PROCESSED, Outcome.NEW_TICKET)
    assert email.ticket is not None
    assert email.ticket.messages.get().email_message_id == message_id


def test_a_customers_reply_with_a_message_id_on_our_domain_threads(
    settings: object, agent: User
) -> None:
    settings.HELPDESK_EMAIL_DOMAIN = "localhost"  # type: ignore[attr-defined]
    ticket = TicketFactory(actor=agent, customer_email="pat@example.com")
    ours = message_create(ticket=ticket, actor=agent, body="We are on it.", public=True)

    email = receive(
        raw_email(
            message_id="<20261203100744.1234.99@localhost>",
            in_reply_to=ours.email_message_id,
            body="Thanks!",
        )
    )

    assert (email.ticket, email.outcome) == (ticket, Outcome.REPLY)
    assert ticket.messages.latest("id").body == "Thanks!"


def test_a_reply_to_a_message_id_of_the_old_form_still_threads(agent: User) -> None:
    # Sent before Message-IDs were signed: make_msgid(idstring=reference).
    ticket = TicketFactory(actor=agent, customer_email="pat@example.com")
    old = f"<176479.42.1234.{ticket.reference}@localhost>"
    Message.objects.filter(ticket=ticket).update(email_message_id=old)

    email = receive(raw_email(sender="eve@example.com", in_reply_to=old, body="Thanks!"))

    assert (email.ticket, email.outcome) == (ticket, Outcome.REPLY)


def test_a_second_delivery_of_the_same_message_is_ignored() -> None:
    raw = raw_email(message_id="<once@customer.example>")

    first = inbound_receive(raw=raw, source="pipe")
    second = inbound_receive(raw=raw, source="imap")

    assert (first.duplicate, second.duplicate) == (False, True)
    assert second.email.pk == first.email.pk
    assert Ticket.objects.count() == 1
    assert InboundEmail.objects.count() == 1


def test_attachments_are_kept_on_the_customers_message() -> None:
    email = receive(raw_email(attachments=[("photo.jpg", b"\xff\xd8jpeg", "image/jpeg")]))

    attachment = email.ticket_message.attachments.get()  # type: ignore[union-attr]
    assert (attachment.name, attachment.content_type, attachment.size) == (
        "photo.jpg",
        "image/jpeg",
        6,
    )


def test_too_many_attachments_go_to_the_quarantine(settings: object) -> None:
    settings.HELPDESK_MAX_ATTACHMENTS = 1  # type: ignore[attr-defined]

    email = receive(
        raw_email(attachments=[("a.txt", b"a", "text/plain"), ("b.txt", b"b", "text/plain")])
    )

    assert email.status == InboundEmail.Status.QUARANTINED
    assert "2 attachments, above the limit of 1" in email.reason
    assert bytes(email.raw)
    assert not Ticket.objects.exists()


def test_an_attachment_above_the_size_limit_goes_to_the_quarantine(settings: object) -> None:
    settings.HELPDESK_MAX_ATTACHMENT_BYTES = 10  # type: ignore[attr-defined]

    email = receive(raw_email(attachments=[("big.pdf", b"x" * 11, "application/pdf")]))

    assert email.status == InboundEmail.Status.QUARANTINED
    assert "big.pdf is above the limit of 10\xa0bytes per file" in email.reason


def test_a_message_above_the_hard_limit_is_refused_naming_it(settings: object) -> None:
    from core.errors import PayloadTooLarge

    settings.HELPDESK_INBOUND_MAX_BYTES = 100  # type: ignore[attr-defined]

    with pytest.raises(PayloadTooLarge, match="above the limit of 100\xa0bytes"):
        inbound_receive(raw=raw_email(body="x" * 200), source="pipe")
    assert not InboundEmail.objects.exists()


def test_a_message_without_a_sender_is_quarantined_then_discarded(supervisor: User) -> None:
    email = receive(b"Subject: who am I\r\n\r\nNo sender here.\r\n")

    assert email.status == InboundEmail.Status.QUARANTINED
    assert email.reason.startswith("no usable sender address")
    discarded = inbound_discard(email=email, actor=supervisor, reason="Spam.")
    assert discarded.status == InboundEmail.Status.DISCARDED


def test_a_quarantined_message_can_be_retried_after_the_limit_changes(
    settings: object, supervisor: User
) -> None:
    settings.HELPDESK_MAX_ATTACHMENTS = 0  # type: ignore[attr-defined]
    email = receive(raw_email(attachments=[("a.txt", b"a", "text/plain")]))
    settings.HELPDESK_MAX_ATTACHMENTS = 5  # type: ignore[attr-defined]

    retried = inbound_retry(email=email, actor=supervisor)

    assert retried.status == InboundEmail.Status.PROCESSED
    assert retried.attempts == 2
    assert retried.ticket is not None


def test_html_only_mail_gets_text_and_sanitized_html() -> None:
    from email.message import EmailMessage

    message = EmailMessage()
    message["From"] = "pat@example.com"
    message["Subject"] = "Styled"
    message.set_content(
        '<p>Hello <b>there</b><script>alert(1)</script><img src="http://track.example/x.gif"></p>'
        "<p>Second line &amp; more</p>",
        subtype="html",
    )

    email = receive(bytes(message))

    stored = email.ticket_message
    assert stored is not None
    assert stored.body == "Hello there\n\nSecond line & more"  # paragraphs apart, as shown
    assert "<script" not in stored.body_html
    assert "<img" not in stored.body_html
    assert "<b>there</b>" in stored.body_html


def test_an_unexpected_error_quarantines_instead_of_raising(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def explode(**kwargs: object) -> None:
        raise RuntimeError("database hiccup")

    monkeypatch.setattr("inbound.services.ticket_create", explode)

    email = receive(raw_email())

    assert email.status == InboundEmail.Status.QUARANTINED
    assert email.reason == "Could not be handled: database hiccup"


def test_of_two_stored_message_ids_the_one_in_reply_to_threads(agent: User) -> None:
    older = TicketFactory(actor=agent, customer_email="pat@example.com")
    newer = TicketFactory(actor=agent, customer_email="pat@example.com")
    on_older = message_create(ticket=older, actor=agent, body="About the first.", public=True)
    on_newer = message_create(ticket=newer, actor=agent, body="About the second.", public=True)

    email = receive(
        raw_email(
            in_reply_to=on_older.email_message_id,
            references=f"{on_older.email_message_id} {on_newer.email_message_id}",
        )
    )
    by_references = receive(
        raw_email(references=f"{on_older.email_message_id} {on_newer.email_message_id}")
    )

    assert email.ticket == older
    assert by_references.ticket == newer  # the newest reference first


def test_a_stored_message_id_threads_whoever_answers_it(agent: User) -> None:
    ticket = TicketFactory(actor=agent, customer_email="pat@example.com")
    ours = message_create(ticket=ticket, actor=agent, body="We are on it.", public=True)

    email = receive(raw_email(sender="colleague@example.com", in_reply_to=ours.email_message_id))

    assert (email.ticket, email.outcome) == (ticket, Outcome.REPLY)
    assert email.ticket_message.from_address == "colleague@example.com"  # type: ignore[union-attr]
