"""The email a customer receives for a public message: threaded on the
ticket's earlier messages, with the ticket reference in the subject."""

from email.utils import formataddr

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

from core.dates import customer_datetime
from tickets.models import Commitment, Message

# Enough ancestors for any mail client to thread; long chains get trimmed
# from the middle, keeping the first (RFC 5322, section 3.6.4).
MAX_REFERENCES = 20

STEP_HEADINGS = {
    "acknowledge": "We have your message",
    "apologize": "We are sorry",
    "commit": "What we will do",
    "resolve": "Done",
}


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


def promised_due(message: Message) -> dict[str, str] | None:
    """For a commitment's message, the due time promised with it, as the
    customer reads it: the wall time in their zone, and the zone's name."""
    if message.step != "commit":
        return None
    # ticket_commit creates the commitment just before its message, in one
    # transaction; a later commitment (after a reopen) comes after it.
    commitment = (
        Commitment.objects.filter(ticket_id=message.ticket_id, created_at__lte=message.created_at)
        .order_by("-created_at", "-id")
        .first()
    )
    if commitment is None:
        return None
    zone = message.ticket.customer.zone
    return {"when": customer_datetime(commitment.due_at, zone), "zone": zone.key}


def build_ticket_email(message: Message) -> EmailMultiAlternatives:
    ticket = message.ticket
    customer = ticket.customer
    ancestors = thread_ids(message)
    subject = f"[{ticket.reference}] {ticket.subject}"
    if ancestors:
        subject = f"Re: {subject}"
    context = {
        "message": message,
        "ticket": ticket,
        "customer": customer,
        "heading": STEP_HEADINGS.get(message.step, ""),
        "due": promised_due(message),
        "agent_name": message.author.get_full_name() or message.author.username
        if message.author
        else "",
    }
    headers = {"Message-ID": message.email_message_id or "", "X-Helpdesk-Ticket": ticket.reference}
    if ancestors:
        references = ancestors
        if len(references) > MAX_REFERENCES:
            references = [references[0], *references[-(MAX_REFERENCES - 1) :]]
        headers["In-Reply-To"] = ancestors[-1]
        headers["References"] = " ".join(references)
    email = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string("emails/ticket_message.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[formataddr((customer.name, customer.email))],
        headers=headers,
    )
    email.attach_alternative(render_to_string("emails/ticket_message.html", context), "text/html")
    for attachment in message.attachments.all():
        with attachment.file.open("rb") as content:
            email.attach(attachment.name, content.read(), attachment.content_type)
    return email
