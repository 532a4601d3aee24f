"""The email a customer receives for a public message: the agent's words,
one greeting, signed by the agent, in the customer's language; threaded on
the ticket's earlier messages, with the ticket reference in the subject.

``compose_ticket_email`` builds it from plain values, so the console's step
forms preview exactly what ``build_ticket_email`` will send."""

from dataclasses import dataclass
from datetime import datetime
from email.utils import formataddr, parseaddr

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils.translation import gettext

from accounts.models import User
from core.addresses import mailbox
from core.dates import customer_datetime, zone_name
from core.languages import language_tag, speaking
from core.mail import CustomerMail
from tickets.case_links import case_link_line
from tickets.models import Commitment, Message, Ticket
from tickets.voice import greeting_for

# Enough ancestors for any mail client to thread; long chains get trimmed
# from the middle, keeping the first (RFC 5322, section 3.6.4).
MAX_REFERENCES = 20


@dataclass(frozen=True)
class CustomerEmail:
    """What a customer reads (a step email, a reply, a follow-up). The plain
    text and the HTML are rendered from the same parts, so they say the same."""

    subject: str
    text: str
    html: str
    language: str  # a BCP 47 tag, as in the HTML's lang
    from_email: str


def thread_ids(message: Message) -> list[str]:
    """Message-IDs of the ticket's earlier messages, oldest first."""
    earlier = (
        Message.objects.filter(ticket_id=message.ticket_id, email_message_id__isnull=False)
        .filter(created_at__lte=message.created_at)
        .exclude(pk=message.pk)
        .exclude(created_at=message.created_at, pk__gt=message.pk)
        .order_by("created_at", "id")
        .values_list("email_message_id", flat=True)
    )
    return [mid for mid in earlier if mid]


def promised_due_at(message: Message) -> datetime | None:
    """For a commitment's message, the due time promised with it."""
    if message.step != "commit":
        return None
    # ticket_commit creates the commitment just before its message, in one
    # transaction; a later commitment (after a reopen) comes after it.
    commitment = (
        Commitment.objects.filter(ticket_id=message.ticket_id, created_at__lte=message.created_at)
        .order_by("-created_at", "-id")
        .first()
    )
    return commitment.due_at if commitment else None


def staff_name(user: User | None) -> str:
    return (user.get_full_name() or user.username) if user else ""


def desk_name() -> str:
    """The name the desk signs with when no agent does: DEFAULT_FROM_EMAIL's
    display name ("Helpdesk"), else its address."""
    desk, address = parseaddr(settings.DEFAULT_FROM_EMAIL)
    return desk or address


def from_address(agent_name: str) -> str:
    """The desk's address, under the agent's name: "Ana Costa (Helpdesk)"."""
    desk, address = parseaddr(settings.DEFAULT_FROM_EMAIL)
    if not agent_name:
        return settings.DEFAULT_FROM_EMAIL
    return formataddr((f"{agent_name} ({desk})" if desk else agent_name, address))


def ticket_subject(ticket: Ticket) -> str:
    """``Re: <subject> [HD-000123]``: an answer to what the customer raised,
    with the reference inbound mail threads on."""
    return f"Re: {ticket.subject} [{ticket.reference}]"


def compose_ticket_email(
    *, ticket: Ticket, body: str, author: User | None, due_at: datetime | None = None
) -> CustomerEmail:
    """The email for ``body`` written on ``ticket`` by ``author``; with
    ``due_at`` for a commitment, whose due time it states in the customer's
    zone. Reads nothing beyond the ticket's customer."""
    customer = ticket.customer
    agent_name = staff_name(author)
    with speaking(customer.locale) as language:
        due = None
        if due_at is not None:
            due = gettext("We will have this done by %(when)s, %(zone)s.") % {
                "when": customer_datetime(due_at, customer.zone),
                "zone": zone_name(customer.zone),
            }
        tag = language_tag(language)
        parts = {
            "lang": tag,
            "title": ticket.subject,
            "greeting": greeting_for(body, customer.name),
            "body": body.strip(),
            "due": due,
            "signature": agent_name,
            "case": case_link_line(ticket),
            "footer": gettext("Reply to this email to write to us. Reference %(reference)s.")
            % {"reference": ticket.reference},
        }
        return CustomerEmail(
            subject=ticket_subject(ticket),
            text=render_to_string("emails/ticket_message.txt", parts).strip() + "\n",
            html=render_to_string("emails/ticket_message.html", parts),
            language=tag,
            from_email=from_address(agent_name),
        )


def build_ticket_email(message: Message) -> EmailMultiAlternatives:
    ticket = message.ticket
    customer = ticket.customer
    ancestors = thread_ids(message)
    letter = compose_ticket_email(
        ticket=ticket, body=message.body, author=message.author, due_at=promised_due_at(message)
    )
    headers = {
        "Message-ID": message.email_message_id or "",
        "X-Helpdesk-Ticket": ticket.reference,
        "Content-Language": letter.language,
    }
    if ancestors:
        references = ancestors
        if len(references) > MAX_REFERENCES:
            references = [references[0], *references[-(MAX_REFERENCES - 1) :]]
        headers["In-Reply-To"] = ancestors[-1]
        headers["References"] = " ".join(references)
    email = CustomerMail(
        subject=letter.subject,
        body=letter.text,
        from_email=letter.from_email,
        to=[mailbox(customer.name, customer.email)],
        headers=headers,
    )
    email.attach_alternative(letter.html, "text/html")
    for attachment in message.attachments.all():
        with attachment.file.open("rb") as content:
            email.attach(attachment.name, content.read(), attachment.content_type)
    return email
