from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.template import Context, Template
from django.urls import reverse
from django.utils import timezone, translation

from accounts.models import User
from console.templatetags.conversation import split_quoted
from inbound.services import inbound_receive
from tests.factories import TicketFactory
from tests.helpers import console_client, ticket_page
from tests.inbound.mail import raw_email
from tickets.models import Message


@pytest.mark.parametrize(
    ("body", "fresh"),
    [
        (
            "Thanks!\n\nOn Mon, 2 Nov 2026, Help <help@desk.example> wrote:\n> We are on it.",
            "Thanks!",
        ),
        ("Thanks!\n> quoted", "Thanks!"),
        ("Merci\n-----Original Message-----\nFrom: Help", "Merci"),
        ("> only a quote", "> only a quote"),
        ("No history at all.", "No history at all."),
    ],
)
def test_the_quoted_history_is_split_from_the_new_words(body: str, fresh: str) -> None:
    assert split_quoted(body)[0] == fresh


@pytest.mark.django_db
def test_a_customers_email_shows_its_words_with_the_history_folded(supervisor: User) -> None:
    raw = raw_email(
        body="It works now, thanks.\n\nOn Monday, Help wrote:\n> Try again please.",
        html="<p>It works now, <b>thanks</b>.</p><script>alert(1)</script>",
    )
    email = inbound_receive(raw=raw, source="pipe").email
    assert email.ticket is not None

    page = console_client(supervisor).get(
        reverse("console:tickets_ticket_change", args=[email.ticket.pk])
    )

    body = page.content.decode()
    assert '<div class="body">It works now, thanks.</div>' in body
    assert "<summary>Quoted history</summary>" in body
    assert "<b>thanks</b>" in body
    assert "alert(1)" not in body


@pytest.mark.django_db
def test_each_message_says_who_when_how_and_its_files_every_value_escaped(
    agent: User,
) -> None:
    """The conversation is built in Python (``render_messages``): what each
    message shows, and nothing a customer or a file name wrote as markup."""
    agent.first_name, agent.last_name = "Alex", "<Kim>"
    agent.save()
    ticket = TicketFactory(actor=agent, customer_email="pat@example.com")
    client = console_client(agent)
    odd_name = SimpleUploadedFile('a<b>&"c".pdf', b"PDF", content_type="application/pdf")
    client.post(
        reverse("console:ticket_reply", args=[ticket.pk]),
        {"body": "Label attached.", "attachments": [odd_name]},
    )
    client.post(
        reverse("console:ticket_reply", args=[ticket.pk]),
        {"body": "Customer sounded upset.", "note": "1"},
    )
    Message.objects.create(
        ticket=ticket,
        author_kind=Message.Author.CUSTOMER,
        from_address="friend@example.com",
        body="Hi <script>x()</script>\n> an old line",
    )
    reply = Message.objects.get(ticket=ticket, body="Label attached.")
    attachment = reply.attachments.get()

    body = client.get(ticket_page(ticket)).content.decode()

    download = reverse("console:ticket_attachment", args=[ticket.pk, attachment.pk])
    assert (
        f'<a href="{download}" download>a&lt;b&gt;&amp;&quot;c&quot;.pdf</a> <small>(3\xa0bytes)'
        in body
    )
    assert "Alex &lt;Kim&gt;" in body
    assert "<Kim>" not in body
    assert "· <strong>internal note</strong>" in body
    assert "<strong>friend@example.com</strong>, not the customer" in body
    assert '<div class="body">Hi &lt;script&gt;x()&lt;/script&gt;</div>' in body
    assert '<details class="quoted"><summary>Quoted history</summary>' in body
    assert "<script>x()" not in body
    moment = timezone.localtime(reply.created_at)
    assert f'<time datetime="{moment.isoformat()}">{moment:%b} {moment.day}, ' in body
    assert "· email " in body  # how the public reply went


@pytest.mark.django_db
def test_a_ticket_without_messages_says_so(agent: User) -> None:
    ticket = TicketFactory(actor=agent)
    ticket.messages.all().delete()

    body = console_client(agent).get(ticket_page(ticket)).content.decode()

    assert '<p class="empty">No messages yet.</p>' in body


@pytest.mark.parametrize("language", ["en", "es", "pt-br", "de", "fr"])
@pytest.mark.parametrize("zone", ["UTC", "Asia/Kolkata", "America/Sao_Paulo"])
def test_when_writes_a_moment_as_the_date_filter_does(language: str, zone: str) -> None:
    template = Template('{% load conversation %}{{ m|when }}|{{ m|date:"M j, Y H:i" }}')
    moments = [datetime(2026, month, 28, 23, 45, tzinfo=UTC) for month in range(1, 13)]
    with translation.override(language), timezone.override(ZoneInfo(zone)):
        for moment in [*moments, "not a moment", None]:
            ours, django = template.render(Context({"m": moment})).split("|")
            assert ours == django, (moment, language, zone)
