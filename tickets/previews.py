"""What the customer will receive, shown before anything is sent: the
console's preview of a step's or a reply's email.

Built by ``compose_ticket_email`` from the values the agent typed, as the
real email is built from the saved message, and checked as the service
checks them; nothing is written and nothing is queued."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from accounts.models import User
from core.addresses import mailbox
from tickets.emails import compose_ticket_email
from tickets.models import Ticket
from tickets.services.access import ensure_can_act
from tickets.services.lifecycle import step_message_preview
from tickets.services.messages import clean_body


@dataclass(frozen=True)
class EmailPreview:
    from_email: str
    to: str
    subject: str
    text: str
    html: str
    language: str  # a BCP 47 tag


def email_preview(
    *, ticket: Ticket, author: User, body: str, due_at: datetime | None = None
) -> EmailPreview:
    """The email ``author`` would send the ticket's customer with ``body``
    (and, for a commitment, ``due_at``)."""
    letter = compose_ticket_email(ticket=ticket, body=body, author=author, due_at=due_at)
    customer = ticket.customer
    return EmailPreview(
        from_email=letter.from_email,
        to=mailbox(customer.name, customer.email),
        subject=letter.subject,
        text=letter.text,
        html=letter.html,
        language=letter.language,
    )


def step_preview(
    *, ticket: Ticket, actor: User, name: str, content: Mapping[str, Any]
) -> EmailPreview:
    """The email step ``name`` with ``content`` would send; a domain error
    where the step would be refused."""
    message = step_message_preview(ticket=ticket, actor=actor, name=name, content=content)
    return email_preview(ticket=ticket, author=actor, body=message.body, due_at=message.due_at)


def reply_preview(*, ticket: Ticket, actor: User, body: str) -> EmailPreview:
    """The email a public reply with ``body`` would send."""
    ensure_can_act(actor, ticket)
    return email_preview(ticket=ticket, author=actor, body=clean_body(body))
