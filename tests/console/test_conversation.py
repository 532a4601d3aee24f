import pytest
from django.urls import reverse

from accounts.models import User
from console.templatetags.conversation import split_quoted
from inbound.services import inbound_receive
from tests.helpers import console_client
from tests.inbound.mail import raw_email


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
