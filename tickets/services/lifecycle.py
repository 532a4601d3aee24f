"""One service per transition of the ticket's state machine.

Each locks the ticket row, checks the transition with the model's own rules,
applies it, records the event and the step's public message in the same
transaction, and queues the customer's email on commit. A refused transition
changes nothing.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from core import clock
from core.errors import RuleViolation, StepsMissing
from tickets import hooks, workflow
from tickets.models import Commitment, Kind, Status, Ticket
from tickets.services.access import ensure_can_act
from tickets.services.events import record_event
from tickets.services.messages import add_agent_message, clean_body, clean_text

MAX_REASON_CHARS = 2_000
# A promise further out is no promise; it also keeps due times far from the
# year 9999, where showing them in a zone east of UTC overflows.
MAX_COMMITMENT_YEARS = 5


def latest_due_at(now: datetime) -> datetime:
    """The furthest due time a commitment made at ``now`` may have."""
    try:
        return now.replace(year=now.year + MAX_COMMITMENT_YEARS)
    except ValueError:  # 29 February, in a year that has none
        return now.replace(year=now.year + MAX_COMMITMENT_YEARS, day=28)


def _clean_reason(reason: str) -> str:
    reason = reason.strip()
    if not reason:
        raise RuleViolation("A reason is required.", field="reason")
    if len(reason) > MAX_REASON_CHARS:
        raise RuleViolation(
            f"The reason is longer than the limit of {MAX_REASON_CHARS} characters.",
            field="reason",
        )
    return reason


def _ensure_allowed(ticket: Ticket, name: str) -> None:
    verdict = workflow.assess(ticket, name)
    if verdict.allowed:
        return
    if not verdict.applicable:
        raise RuleViolation(
            f"A {ticket.get_kind_display().lower()} cannot be {_PAST[name]}"
            + (
                ": apologies and commitments are for mishaps."
                if ticket.kind == Kind.QUESTION
                else "."
            )
        )
    missing = list(verdict.missing_steps)
    if missing:
        detail = f"Cannot {name} yet: first {', then '.join(missing)}."
    else:
        detail = f"Cannot {name} a ticket that is {ticket.get_status_display().lower()}."
    raise StepsMissing(detail, missing_steps=missing, current_status=ticket.status)


_PAST = {
    "acknowledge": "acknowledged",
    "apologize": "apologized for",
    "commit": "given a commitment",
    "resolve": "resolved",
    "close": "closed",
    "restore": "restored",
    "reopen": "reopened",
}


def _check_first(ticket: Ticket, actor: User | None, name: str) -> Ticket:
    """Who may act and whether the step fits come before the content: an
    outsider gets 403 and a step out of order 409, whatever the body says.
    Checked again under the row lock in ``_transition``. Returns the ticket
    as it is now."""
    current = Ticket.objects.select_related("queue").get(pk=ticket.pk)
    ensure_can_act(actor, current)
    _ensure_allowed(current, name)
    return current


def _transition(
    *,
    ticket: Ticket,
    actor: User | None,
    name: str,
    apply: Callable[[Ticket, datetime, str], dict[str, Any]],
    message: str | None = None,
    hook: hooks.LifecycleEvent | None = None,
    validate: Callable[[Ticket], None] | None = None,
) -> Ticket:
    with transaction.atomic():
        locked = (
            Ticket.objects.select_for_update(of=("self",))
            .select_related("queue", "customer")
            .get(pk=ticket.pk)
        )
        ensure_can_act(actor, locked)
        _ensure_allowed(locked, name)
        now = clock.now()
        from_status = locked.status
        getattr(locked, name)()
        if validate is not None:
            validate(locked)
        payload = apply(locked, now, from_status)
        with locked.recording_transition():
            locked.save()
        if message is not None and actor is not None:
            step_message = add_agent_message(
                ticket=locked, author=actor, body=message, public=True, step=name
            )
            payload = {"message": step_message.body, "message_id": step_message.pk, **payload}
        record_event(
            ticket=locked,
            actor=actor,
            action=name,
            from_status=from_status,
            to_status=locked.status,
            payload=payload,
        )
        if hook is not None:
            hooks.run_lifecycle_hooks(hook, locked, actor)
    return locked


def _require_our_part(ticket: Ticket, our_part: str) -> None:
    if ticket.kind == Kind.MISHAP and not our_part:
        raise RuleViolation("A mishap's acknowledgement states our part in it.", field="our_part")


def ticket_acknowledge(
    *, ticket: Ticket, actor: User, message: str, our_part: str | None = None
) -> Ticket:
    """Tell the customer we have their ticket. For a mishap, the
    acknowledgement must also state our part in what went wrong: kept for
    the team, never sent to the customer."""
    _check_first(ticket, actor, "acknowledge")
    message = clean_body(message, field="message")
    our_part = clean_text(our_part or "", field="our_part", required=False)

    def validate(t: Ticket) -> None:
        # Checked on the locked row: the ticket may have become a mishap meanwhile.
        _require_our_part(t, our_part)

    def apply(t: Ticket, now: datetime, from_status: str) -> dict[str, Any]:
        t.acknowledged_at = now
        if our_part:
            t.our_part = our_part
        return {"our_part": our_part} if our_part else {}

    return _transition(
        ticket=ticket,
        actor=actor,
        name="acknowledge",
        apply=apply,
        message=message,
        validate=validate,
    )


def ticket_apologize(*, ticket: Ticket, actor: User, message: str) -> Ticket:
    """Apologize to the customer. Mishaps only, after the acknowledgement."""
    _check_first(ticket, actor, "apologize")
    message = clean_body(message, field="message")

    def apply(t: Ticket, now: datetime, from_status: str) -> dict[str, Any]:
        t.apologized_at = now
        return {}

    return _transition(ticket=ticket, actor=actor, name="apologize", apply=apply, message=message)


def ticket_commit(
    *, ticket: Ticket, actor: User, promise: str, due_at: datetime, value_restated: str = ""
) -> Ticket:
    """Promise the customer what we will do and by when; the due time must be
    in the future and at most MAX_COMMITMENT_YEARS ahead. The promise is
    emailed to the customer."""
    _check_first(ticket, actor, "commit")
    promise, due_at, value_restated = _clean_commitment(promise, due_at, value_restated)

    def apply(t: Ticket, now: datetime, from_status: str) -> dict[str, Any]:
        t.committed_at = now
        commitment = Commitment.objects.create(
            ticket=t, promise=promise, due_at=due_at, value_restated=value_restated, made_by=actor
        )
        return {
            "commitment_id": commitment.pk,
            "promise": promise,
            "due_at": due_at.isoformat(),
            "value_restated": value_restated,
        }

    text = _commitment_text(promise, value_restated)
    return _transition(ticket=ticket, actor=actor, name="commit", apply=apply, message=text)


def _clean_commitment(
    promise: str, due_at: datetime, value_restated: str
) -> tuple[str, datetime, str]:
    promise = clean_body(promise, field="promise")
    if timezone.is_naive(due_at):
        raise RuleViolation("The due time needs a time zone offset.", field="due_at")
    now = clock.now()
    if due_at <= now:
        raise RuleViolation("The due time must be in the future.", field="due_at")
    if due_at > latest_due_at(now):
        raise RuleViolation(
            f"The due time must be at most {MAX_COMMITMENT_YEARS} years ahead.", field="due_at"
        )
    value_restated = clean_text(value_restated, field="value_restated", required=False)
    return promise, due_at, value_restated


def _commitment_text(promise: str, value_restated: str) -> str:
    """The commitment's message: the value restated, then the promise."""
    return promise if not value_restated else f"{value_restated}\n\n{promise}"


def ticket_resolve(*, ticket: Ticket, actor: User, message: str) -> Ticket:
    """Answer a question; or, for a mishap, say how the promise was kept:
    the commitment is marked fulfilled (on time or late) and the rebuilding
    period begins."""
    _check_first(ticket, actor, "resolve")
    message = clean_body(message, field="message")

    def apply(t: Ticket, now: datetime, from_status: str) -> dict[str, Any]:
        t.resolved_at = now
        if t.kind != Kind.MISHAP:
            return {}
        t.rebuilding_ended_at = None
        t.restored_at = None
        # The model's conditions guarantee the open commitment exists.
        commitment = Commitment.objects.select_for_update().get(ticket=t, fulfilled_at=None)
        commitment.fulfilled_at = now
        commitment.fulfilment_note = message
        commitment.save(update_fields=["fulfilled_at", "fulfilment_note"])
        return {"commitment_id": commitment.pk, "kept": commitment.kept}

    return _transition(
        ticket=ticket, actor=actor, name="resolve", apply=apply, message=message, hook="resolved"
    )


@dataclass(frozen=True)
class StepMessage:
    """What a step tells the customer: its public message and, for a
    commitment, the due time the email states."""

    body: str
    due_at: datetime | None = None


# The steps that email the customer a message of the agent's.
STEPS_WITH_MESSAGE = ("acknowledge", "apologize", "commit", "resolve")


def step_message_preview(
    *, ticket: Ticket, actor: User, name: str, content: Mapping[str, Any]
) -> StepMessage:
    """What step ``name`` with ``content`` (its service's arguments) would
    email the customer, checked as the service checks it: who may act,
    whether the step fits now, the content. Writes nothing: for a preview;
    the service checks it all again when the step is taken."""
    if name not in STEPS_WITH_MESSAGE:
        raise RuleViolation(f"{name.capitalize()} sends the customer no message.")
    current = _check_first(ticket, actor, name)
    if name == "commit":
        promise, due_at, value_restated = _clean_commitment(
            content["promise"], content["due_at"], content.get("value_restated", "")
        )
        return StepMessage(_commitment_text(promise, value_restated), due_at)
    message = clean_body(content["message"], field="message")
    if name == "acknowledge":
        our_part = clean_text(content.get("our_part") or "", field="our_part", required=False)
        _require_our_part(current, our_part)
    return StepMessage(message)


def ticket_close(*, ticket: Ticket, actor: User | None, reason: str = "") -> Ticket:
    """File an answered question away (by an agent, or by beat after the quiet period)."""
    _check_first(ticket, actor, "close")

    def apply(t: Ticket, now: datetime, from_status: str) -> dict[str, Any]:
        t.closed_at = now
        return {"reason": reason.strip()} if reason.strip() else {}

    return _transition(ticket=ticket, actor=actor, name="close", apply=apply, hook="closed")


def ticket_restore(*, ticket: Ticket, actor: User | None, reason: str) -> Ticket:
    """End the rebuilding period, with the reason (plan finished, or ended by the agent)."""
    _check_first(ticket, actor, "restore")
    reason = _clean_reason(reason)

    def apply(t: Ticket, now: datetime, from_status: str) -> dict[str, Any]:
        t.restored_at = now
        t.rebuilding_ended_at = now
        return {"reason": reason}

    return _transition(ticket=ticket, actor=actor, name="restore", apply=apply, hook="restored")


def ticket_reopen(
    *, ticket: Ticket, actor: User | None, reason: str, by_customer: bool = False
) -> Ticket:
    """Put a finished ticket back to work. A mishap must then apologize and
    commit again; the timeliness targets count again from now; lifecycle
    hooks cancel what was scheduled (follow-ups)."""
    _check_first(ticket, actor, "reopen")
    reason = _clean_reason(reason)

    def apply(t: Ticket, now: datetime, from_status: str) -> dict[str, Any]:
        if from_status == Status.REBUILDING:
            t.rebuilding_ended_at = now
        t.reopened_at = now
        t.clock_started_at = now
        t.apologized_at = None
        t.committed_at = None
        t.resolved_at = None
        t.closed_at = None
        t.apologize_breached_at = None
        return {"reason": reason, "by_customer": by_customer}

    return _transition(ticket=ticket, actor=actor, name="reopen", apply=apply, hook="reopened")
