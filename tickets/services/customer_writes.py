"""The customer writes to us about a ticket, by email or from their case
page: one rule for both. Their words land on the ticket (reopening it when
it is resolved or rebuilding, see ``message_receive``); a ticket
whose recovery is over and cannot reopen gets a new ticket that names it."""

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

from django.core.files.uploadedfile import UploadedFile

from tickets import workflow
from tickets.models import Message, Queue, Ticket
from tickets.services.messages import MAX_BODY_CHARS, message_receive
from tickets.services.tickets import ticket_create


class Outcome(Enum):
    REPLY = "reply"
    REOPENED = "reopened"
    NEW_TICKET = "new_ticket"


@dataclass(frozen=True)
class Written:
    ticket: Ticket
    message: Message
    outcome: Outcome


def customer_writes(
    *,
    ticket: Ticket,
    body: str,
    subject: str,
    customer_email: str,
    customer_name: str,
    channel: str,
    queue: Queue | None,
    email_message_id: str | None = None,
    body_html: str = "",
    attachments: Sequence[UploadedFile] = (),
    via: str = "email",
) -> Written:
    """Runs in its caller's transaction. ``subject``, ``customer_*``, ``channel``
    and ``queue`` are the new ticket's, should one be needed."""
    if ticket.is_open or workflow.assess(ticket, "reopen").allowed:
        was_open = ticket.is_open
        message = message_receive(
            ticket=ticket,
            body=body,
            email_message_id=email_message_id,
            body_html=body_html,
            attachments=attachments,
            sender=customer_email,
            via=via,
        )
        return Written(ticket, message, Outcome.REPLY if was_open else Outcome.REOPENED)
    # A restored ticket's recovery is over and cannot reopen: the customer's
    # new words start a new ticket that names the old one.
    note = f"(The customer wrote again about {ticket.reference}.)\n\n"
    new, message = ticket_create(
        actor=None,
        subject=subject,
        body=note + body[: MAX_BODY_CHARS - len(note)],
        customer_email=customer_email,
        customer_name=customer_name,
        channel=channel,
        queue=queue,
        customer_message_id=email_message_id,
        customer_html=body_html,
        attachments=attachments,
    )
    return Written(new, message, Outcome.NEW_TICKET)
