"""Every email a customer can receive, as their mail client shows it: the
whole recovery of a mishap (acknowledge, apologize, commit, a reply, resolve,
then the day 1, 7 and 30 follow-ups) and a question's check-in, sent through
the outbox to an English and a Brazilian customer, each opened in
Chromium and kept as a screenshot in test-artifacts/emails/."""

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest
import time_machine
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from playwright.sync_api import Page

from recovery.models import FollowUp
from recovery.services.followup_delivery import SOURCE as FOLLOWUPS
from recovery.services.followups import followups_claim_due
from tests.delivery import deliver_item
from tests.factories import TicketFactory
from tests.helpers import html_of, sent_emails
from tickets.models import Kind, Message, Ticket
from tickets.services import (
    message_create,
    ticket_acknowledge,
    ticket_apologize,
    ticket_commit,
    ticket_resolve,
)
from tickets.services.delivery import SOURCE as MESSAGES
from tickets.voice import opens_with_greeting

EMAILS = Path(__file__).resolve().parents[2] / "test-artifacts" / "emails"
T0 = datetime(2026, 5, 4, 13, 0, tzinfo=UTC)

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


@dataclass(frozen=True)
class Customer:
    name: str
    email: str
    locale: str
    zone: str
    lang: str  # the lang the emails must carry
    # What the agent writes, in the customer's language: some with a greeting
    # of their own, some without, so both ways to one greeting are seen.
    acknowledge: str
    apologize: str
    promise: str
    reply: str
    resolve: str


CUSTOMERS = {
    "en": Customer(
        name="Grace Hopper",
        email="grace@example.com",
        locale="en-GB",
        zone="Europe/London",
        lang="en",
        acknowledge="Hi Grace,\n\nThank you for telling us. I am looking into the charges now.",
        apologize="I am sorry: you paid twice for one order, and that is on us.",
        promise="I will refund the second charge to your card.",
        reply="The refund is on its way; your bank shows it within two days.",
        resolve="Grace,\n\nThe second charge is refunded. Thank you for your patience.",
    ),
    "pt-BR": Customer(
        name="Maria Silva",
        email="maria@example.com.br",
        locale="pt-BR",
        zone="America/Sao_Paulo",
        lang="pt-BR",
        acknowledge="Oi Maria,\n\nObrigada por nos avisar. Já estou vendo a cobrança em dobro.",
        apologize="Peço desculpas: você pagou duas vezes pelo mesmo pedido, e a culpa é nossa.",
        promise="Vou estornar a segunda cobrança no seu cartão.",
        reply="O estorno está a caminho; o banco mostra em até dois dias.",
        resolve="A segunda cobrança foi estornada. Obrigada pela paciência.",
    ),
}


class _Paragraphs(HTMLParser):
    """The paragraphs of an HTML email as its reader sees them (no head)."""

    BLOCKS = ("p", "h1", "h2", "li", "div")

    def __init__(self) -> None:
        super().__init__()
        self.paragraphs: list[str] = []
        self._current: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._skip += tag in ("head", "title")
        if tag in self.BLOCKS or tag == "br":
            self._flush()

    def handle_endtag(self, tag: str) -> None:
        self._skip -= tag in ("head", "title")
        if tag in self.BLOCKS:
            self._flush()

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self._current.append(data)

    def _flush(self) -> None:
        text = " ".join("".join(self._current).split())
        if text:
            self.paragraphs.append(text)
        self._current = []


def html_paragraphs(html: str) -> list[str]:
    parser = _Paragraphs()
    parser.feed(html)
    parser.close()
    parser._flush()
    return parser.paragraphs


def html_lang(html: str) -> str:
    match = re.search(r'<html lang="([^"]+)"', html)
    assert match, "the HTML names no language"
    return match.group(1)


def greetings(text: str, name: str) -> list[str]:
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
    return [p.splitlines()[0] for p in paragraphs if opens_with_greeting(p, name)]


def sent_for(ticket: Ticket) -> list[EmailMultiAlternatives]:
    """Deliver what the ticket has waiting (messages, then due follow-ups)."""
    for message in ticket.messages.filter(delivery_status=Message.Delivery.PENDING):
        assert deliver_item(MESSAGES, message.pk).sent
    return sent_emails()


def mishap_emails(who: Customer) -> list[tuple[str, EmailMultiAlternatives]]:
    ticket = TicketFactory(
        kind=Kind.MISHAP,
        subject="Charged twice for one order",
        customer_name=who.name,
        customer_email=who.email,
    )
    ticket.customer.locale, ticket.customer.time_zone = who.locale, who.zone
    ticket.customer.save(update_fields=["locale", "time_zone"])
    agent = ticket.assignee
    assert agent is not None
    agent.first_name, agent.last_name = "Ana", "Costa"
    agent.save(update_fields=["first_name", "last_name"])
    names = ["acknowledge", "apologize", "commit", "reply", "resolve"]
    with time_machine.travel(T0, tick=False):
        ticket = ticket_acknowledge(
            ticket=ticket, actor=agent, message=who.acknowledge, our_part="A retry charged twice."
        )
        ticket = ticket_apologize(ticket=ticket, actor=agent, message=who.apologize)
        ticket = ticket_commit(
            ticket=ticket, actor=agent, promise=who.promise, due_at=T0 + timedelta(days=2, hours=4)
        )
        message_create(ticket=ticket, actor=agent, body=who.reply, public=True)
        ticket = ticket_resolve(ticket=ticket, actor=agent, message=who.resolve)
        sent = sent_for(ticket)
    followups = list(ticket.followups.order_by("due_at"))
    for followup in followups:
        with time_machine.travel(followup.due_at + timedelta(minutes=1), tick=False):
            followups_claim_due()
            assert deliver_item(FOLLOWUPS, followup.pk).sent
        names.append(f"follow-up-day-{followup.offset_days}")
    assert [f.status for f in ticket.followups.all()] == [FollowUp.Status.SENT] * len(followups)
    assert len(sent) == 5
    return list(zip(names, sent_emails(), strict=True))


def question_checkin(who: Customer) -> tuple[str, EmailMultiAlternatives]:
    ticket = TicketFactory(
        kind=Kind.QUESTION,
        subject="Where is my order?",
        customer_name=who.name,
        customer_email=who.email.replace("@", "+q@"),
    )
    ticket.customer.locale, ticket.customer.time_zone = who.locale, who.zone
    ticket.customer.save(update_fields=["locale", "time_zone"])
    agent = ticket.assignee
    assert agent is not None
    with time_machine.travel(T0, tick=False):
        ticket = ticket_acknowledge(ticket=ticket, actor=agent, message=who.acknowledge)
        ticket = ticket_resolve(ticket=ticket, actor=agent, message=who.reply)
    [followup] = ticket.followups.all()
    mail.outbox.clear()
    with time_machine.travel(followup.due_at + timedelta(minutes=1), tick=False):
        followups_claim_due()
        assert deliver_item(FOLLOWUPS, followup.pk).sent
    [checkin] = sent_emails()
    return ("question-check-in", checkin)


@pytest.mark.parametrize("language", list(CUSTOMERS))
def test_every_customer_email_in_the_customers_language_with_one_greeting(
    language: str, page: Page
) -> None:
    who = CUSTOMERS[language]
    emails = mishap_emails(who)
    mail.outbox.clear()
    emails.append(question_checkin(who))
    assert len(emails) == 9

    EMAILS.mkdir(parents=True, exist_ok=True)
    # About a mail client's reading pane.
    page.set_viewport_size({"width": 760, "height": 480})
    for number, (name, email) in enumerate(emails, start=1):
        html = html_of(email)
        assert html_lang(html) == who.lang, name
        assert email.extra_headers["Content-Language"] == who.lang, name
        # One greeting, whoever wrote it, in both parts.
        assert len(greetings(str(email.body), who.name)) == 1, (name, email.body)
        assert re.search(r"\[HD-\d{6}\]$", str(email.subject)), email.subject
        html_greetings = [p for p in html_paragraphs(html) if opens_with_greeting(p, who.name)]
        assert len(html_greetings) == 1, (name, html_greetings)
        if not name.startswith(("follow-up", "question")):
            # A step email's two parts say the same, word for word.
            text = " ".join(email.body.replace("\n--\n", "\n").split())
            # The case link: its address written out in text, behind its words in HTML.
            [case_link] = re.findall(r"https?://\S+/case/\S+", text)
            assert f'href="{case_link}"' in html, name
            text = text.replace(f": {case_link}", "")
            assert " ".join(html_paragraphs(html)) == text, name
        page.set_content(html)
        page.screenshot(path=str(EMAILS / f"{language}-{number:02d}-{name}.png"), full_page=True)
