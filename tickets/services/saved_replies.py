"""Saved replies: supervisors write them per step (and per queue, or for
every queue); agents start from one, its placeholders filled for the ticket,
and always make it their own before it goes (the customer reads a person,
not a template). Each use is counted."""

import re
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils.translation import gettext

from accounts.models import User
from core.dates import customer_datetime, zone_name
from core.errors import NotPermitted, RuleViolation
from core.languages import speaking
from tickets.emails import staff_name
from tickets.models import Commitment, Queue, ReplyStep, SavedReply, Ticket
from tickets.services.messages import clean_body, clean_text

MANAGE = "tickets.change_savedreply"

# What a saved reply may say in braces, and what each becomes for a ticket.
PLACEHOLDERS = {
    "customer_first_name": "the customer's first name",
    "reference": "the ticket's reference (HD-000123)",
    "agent_name": "your name, as the customer sees it",
    "promise_due": "the open promise's due time, in the customer's zone and language",
}
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _clean(*, title: str, step: str, body: str) -> dict[str, Any]:
    if step not in ReplyStep.values:
        raise RuleViolation(
            f"Choose a step: one of {', '.join(ReplyStep.values)}; {step!r} is not.", field="step"
        )
    if not body.strip():
        raise RuleViolation("The text is required.", field="body")
    body = clean_body(body, field="body")
    unknown = sorted({m.group(1) for m in _PLACEHOLDER.finditer(body)} - set(PLACEHOLDERS))
    if unknown:
        known = ", ".join(f"{{{name}}}" for name in PLACEHOLDERS)
        raise RuleViolation(f"{{{unknown[0]}}} is not a placeholder; use {known}.", field="body")
    return {"title": clean_text(title, field="title", limit=100), "step": step, "body": body}


def _ensure_manager(actor: User) -> None:
    if not actor.has_perm(MANAGE):
        raise NotPermitted("Only supervisors write saved replies.")


def _ensure_unique(values: dict[str, Any], queue: Queue | None, exclude: int | None) -> None:
    same = SavedReply.objects.filter(
        active=True, step=values["step"], queue=queue, title=values["title"]
    )
    if exclude is not None:
        same = same.exclude(pk=exclude)
    if same.exists():
        raise RuleViolation(
            "There is already a saved reply of that title for this step and queue.", field="title"
        )


@transaction.atomic
def saved_reply_create(
    *, actor: User, title: str, step: str, body: str, queue: Queue | None = None
) -> SavedReply:
    _ensure_manager(actor)
    values = _clean(title=title, step=step, body=body)
    _ensure_unique(values, queue, None)
    return SavedReply.objects.create(**values, queue=queue, created_by=actor)


@transaction.atomic
def saved_reply_update(
    *, reply: SavedReply, actor: User, title: str, step: str, body: str, queue: Queue | None
) -> SavedReply:
    _ensure_manager(actor)
    values = _clean(title=title, step=step, body=body)
    locked = SavedReply.objects.select_for_update().get(pk=reply.pk)
    _ensure_unique(values, queue, locked.pk)
    for name, value in {**values, "queue": queue}.items():
        setattr(locked, name, value)
    locked.save()
    return locked


@transaction.atomic
def saved_reply_retire(*, reply: SavedReply, actor: User) -> SavedReply:
    """No longer offered; kept, with its count, for the record."""
    _ensure_manager(actor)
    SavedReply.objects.filter(pk=reply.pk).update(active=False)
    reply.refresh_from_db()
    return reply


def saved_replies_for(*, ticket: Ticket, step: str | None = None) -> QuerySet[SavedReply]:
    """The active saved replies offered on ``ticket`` (its queue's and every
    queue's), of one step or all."""
    offered = SavedReply.objects.filter(active=True).filter(
        Q(queue__isnull=True) | Q(queue_id=ticket.queue_id)
    )
    return offered.filter(step=step) if step else offered


@dataclass(frozen=True)
class FilledReply:
    reply: SavedReply
    text: str


def promise_due(ticket: Ticket) -> str:
    """The open promise's due time as the customer reads it (one query)."""
    customer = ticket.customer
    promise = Commitment.objects.filter(ticket=ticket, fulfilled_at=None).first()
    if promise is None:
        return "[no promise yet]"
    with speaking(customer.locale):
        return gettext("%(when)s, %(zone)s") % {
            "when": customer_datetime(promise.due_at, customer.zone),
            "zone": zone_name(customer.zone),
        }


def fill(reply: SavedReply, *, ticket: Ticket, agent: User, due: str | None = None) -> str:
    """The reply's text for ``ticket``, written by ``agent``: each placeholder
    replaced, in the customer's language and zone. ``due``: the promise's due
    time when the caller read it already (``promise_due``); else it is read
    here when the text asks for it."""
    values = {
        "customer_first_name": (ticket.customer.name or "").split(" ")[0],
        "reference": ticket.reference,
        "agent_name": staff_name(agent),
    }
    if "{promise_due}" in reply.body:
        values["promise_due"] = due if due is not None else promise_due(ticket)
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), reply.body)


def filled_replies(*, ticket: Ticket, agent: User, step: str | None = None) -> list[FilledReply]:
    replies = list(saved_replies_for(ticket=ticket, step=step))
    due = promise_due(ticket) if any("{promise_due}" in r.body for r in replies) else None
    return [
        FilledReply(reply, fill(reply, ticket=ticket, agent=agent, due=due)) for reply in replies
    ]


def saved_reply_check_edited(*, reply: SavedReply, ticket: Ticket, agent: User, text: str) -> None:
    """Refuse a saved reply sent exactly as inserted: it is a start."""
    if " ".join(text.split()) == " ".join(fill(reply, ticket=ticket, agent=agent).split()):
        raise RuleViolation(
            "Make the saved reply your own before sending it: the customer should "
            "read you, not a template.",
            field="message",
        )


def saved_reply_record_use(*, reply: SavedReply) -> None:
    """Counted once the message it started went out."""
    SavedReply.objects.filter(pk=reply.pk).update(use_count=F("use_count") + 1)
