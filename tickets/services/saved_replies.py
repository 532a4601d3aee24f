"""Saved replies: supervisors write them per step (and per queue, or for
every queue); agents start from one, its placeholders filled for the ticket,
and always make it their own before it goes (the customer reads a person,
not a template). Each use is counted. What a ticket is offered, filled for
it, is a read: ``tickets.selectors`` (``filled_replies``)."""

from typing import Any

from django.db import transaction
from django.db.models import F

from accounts.models import User
from core.errors import NotPermitted, RuleViolation
from tickets.models import Queue, ReplyStep, SavedReply, Ticket
from tickets.selectors import PLACEHOLDER, PLACEHOLDERS, fill
from tickets.services.messages import clean_body, clean_text

MANAGE = "tickets.change_savedreply"


def _clean(*, title: str, step: str, body: str) -> dict[str, Any]:
    if step not in ReplyStep.values:
        raise RuleViolation(
            f"Choose a step: one of {', '.join(ReplyStep.values)}; {step!r} is not.", field="step"
        )
    if not body.strip():
        raise RuleViolation("The text is required.", field="body")
    body = clean_body(body, field="body")
    unknown = sorted({m.group(1) for m in PLACEHOLDER.finditer(body)} - set(PLACEHOLDERS))
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
