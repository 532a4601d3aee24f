from collections.abc import Sequence

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction

from accounts.models import User
from core.errors import RuleViolation
from core.transactions import joins_callers_transaction
from tickets.message_ids import our_message_id
from tickets.models import Message, NotificationKind, Ticket
from tickets.selectors import supervisors
from tickets.services.access import ensure_can_act
from tickets.services.attachments import add_attachments, clean_attachments
from tickets.services.delivery import message_queue_email
from tickets.services.events import record_event
from tickets.services.notifications import excerpt, notify

MAX_BODY_CHARS = 100_000


def clean_body(body: str, *, field: str = "body") -> str:
    _refuse_nul(body, field)
    body = body.strip()
    if not body:
        raise RuleViolation("The message cannot be empty.", field=field)
    if len(body) > MAX_BODY_CHARS:
        raise RuleViolation(
            f"The message is longer than the limit of {MAX_BODY_CHARS} characters.", field=field
        )
    return body


MAX_TEXT_CHARS = 10_000


def _refuse_nul(value: str, field: str) -> None:
    # PostgreSQL text cannot hold NUL; refusing it here keeps it from becoming a 500.
    if "\x00" in value:
        raise RuleViolation("The text contains a null character.", field=field)


def clean_text(
    value: str, *, field: str, required: bool = True, limit: int = MAX_TEXT_CHARS
) -> str:
    """A free-text field of a step (our part, the value restated)."""
    _refuse_nul(value, field)
    value = value.strip()
    if required and not value:
        raise RuleViolation(f"{field.replace('_', ' ').capitalize()} is required.", field=field)
    if len(value) > limit:
        raise RuleViolation(f"This is longer than the limit of {limit} characters.", field=field)
    return value


def add_agent_message(
    *, ticket: Ticket, author: User, body: str, public: bool, step: str = ""
) -> Message:
    """Write an agent's message; a public one is emailed to the customer once
    the transaction commits. For use inside a service's transaction."""
    message = Message.objects.create(
        ticket=ticket,
        public=public,
        author_kind=Message.Author.AGENT,
        author=author,
        body=body,
        step=step,
        email_message_id=our_message_id(reference=ticket.reference) if public else None,
        delivery_status=Message.Delivery.PENDING if public else Message.Delivery.NOT_SENT,
    )
    if public:
        message_queue_email(message)
    return message


def add_customer_message(
    *,
    ticket: Ticket,
    body: str,
    email_message_id: str | None = None,
    body_html: str = "",
    attachments: Sequence[UploadedFile] = (),
    from_address: str = "",
) -> Message:
    """Record what the customer wrote (at creation, or a reply). Never emailed back."""
    message = Message.objects.create(
        ticket=ticket,
        public=True,
        author_kind=Message.Author.CUSTOMER,
        body=body,
        body_html=body_html,
        email_message_id=email_message_id or None,
        from_address=from_address[:254],
    )
    add_attachments(message=message, files=attachments)
    return message


@transaction.atomic
def message_create(
    *,
    ticket: Ticket,
    actor: User,
    body: str,
    public: bool,
    attachments: Sequence[UploadedFile] = (),
) -> Message:
    """An agent's reply (emailed to the customer, with its files) or internal
    note (never emailed)."""
    body = clean_body(body)
    files = clean_attachments(attachments)
    locked = (
        Ticket.objects.select_for_update(of=("self",)).select_related("queue").get(pk=ticket.pk)
    )
    ensure_can_act(actor, locked)
    message = add_agent_message(ticket=locked, author=actor, body=body, public=public)
    stored = add_attachments(message=message, files=files)
    record_event(
        ticket=locked,
        actor=actor,
        action="replied" if public else "noted",
        payload={"message": message.pk}
        | ({"attachments": [a.pk for a in stored]} if stored else {}),
    )
    return message


@joins_callers_transaction
def message_receive(
    *,
    ticket: Ticket,
    body: str,
    email_message_id: str | None = None,
    body_html: str = "",
    attachments: Sequence[UploadedFile] = (),
    sender: str = "",
    via: str = "email",
) -> Message:
    """The customer wrote again (``via`` email, or their case page). On a
    finished ticket (resolved, rebuilding or closed) their message reopens
    it, with their words as the reason: a customer who writes back is not
    done with us.

    Joins its caller's transaction where there is one (inbound mail, the
    case page's reply); otherwise runs in one of its own."""
    from tickets import workflow
    from tickets.services.lifecycle import ticket_reopen

    body = clean_body(body)
    files = clean_attachments(attachments)
    locked = (
        Ticket.objects.select_for_update(of=("self",))
        .select_related("customer", "assignee", "queue")
        .get(pk=ticket.pk)
    )
    other = sender if sender and sender.lower() != locked.customer.email.lower() else ""
    message = add_customer_message(
        ticket=locked,
        body=body,
        email_message_id=email_message_id,
        body_html=body_html,
        attachments=files,
        from_address=other,
    )
    record_event(
        ticket=locked,
        actor=None,
        action="customer_replied",
        payload={"message": message.pk} | ({"via": via} if via != "email" else {}),
    )
    said = excerpt(body)
    if workflow.assess(locked, "reopen").allowed:
        was = locked.get_status_display().lower()
        ticket_reopen(
            ticket=locked,
            actor=None,
            reason=f"The customer wrote again: {body[:1_500]}",
            by_customer=True,
        )
        notify(
            kind=NotificationKind.CUSTOMER_REOPENED,
            ticket=locked,
            recipients=_answering(locked),
            text=f"{locked.customer.name} wrote again and reopened {locked.reference} "
            f"(it was {was}): “{said}”",
        )
    else:
        notify(
            kind=NotificationKind.CUSTOMER_REPLIED,
            ticket=locked,
            recipients=[locked.assignee],
            text=f"{locked.customer.name} replied on {locked.reference}: “{said}”",
        )
    return message


def _answering(ticket: Ticket) -> list[User]:
    """Who should pick a reopened ticket up: its assignee; nobody holding it,
    its queue's members; no queue either, the supervisors."""
    if ticket.assignee is not None:
        return [ticket.assignee]
    members = list(ticket.queue.members.filter(is_active=True)) if ticket.queue else []
    return members or supervisors()
