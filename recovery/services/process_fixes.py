"""Writes of the recovery app."""

from django.db import transaction

from accounts.models import User
from core import clock
from core.errors import NotPermitted, RuleViolation
from recovery.models import ProcessFix
from tickets.models import Ticket
from tickets.services.access import ensure_can_act
from tickets.services.events import record_event


@transaction.atomic
def process_fix_create(
    *,
    actor: User,
    title: str,
    root_cause: str,
    failsafe_change: str,
    owner: User | None = None,
    tickets: list[Ticket] | None = None,
) -> ProcessFix:
    """Propose a process fix, linked to the tickets that showed the need; each
    ticket's history records the link. The actor must be allowed to work each
    linked ticket."""
    fields = {"title": title, "root_cause": root_cause, "failsafe_change": failsafe_change}
    for name, value in fields.items():
        if not value.strip():
            raise RuleViolation(f"A process fix needs its {name.replace('_', ' ')}.", field=name)
    linked = list(
        Ticket.objects.select_for_update(of=("self",))
        .select_related("queue")
        .filter(pk__in=[t.pk for t in tickets or []])
        .order_by("pk")
    )
    for ticket in linked:
        ensure_can_act(actor, ticket)
    fix = ProcessFix.objects.create(
        title=title.strip(),
        root_cause=root_cause.strip(),
        failsafe_change=failsafe_change.strip(),
        owner=owner or actor,
        created_by=actor,
    )
    for ticket in linked:
        fix.tickets.add(ticket)
        record_event(
            ticket=ticket, actor=actor, action="process_fix_linked", payload={"process_fix": fix.pk}
        )
    return fix


_NEXT = {
    ProcessFix.Status.PROPOSED: (ProcessFix.Status.IN_PROGRESS, ProcessFix.Status.DROPPED),
    ProcessFix.Status.IN_PROGRESS: (ProcessFix.Status.DONE, ProcessFix.Status.DROPPED),
}


def process_fix_next_statuses(status: str) -> tuple[ProcessFix.Status, ...]:
    """Where a fix in ``status`` may go next: what the console offers, from the
    same table the service enforces."""
    return _NEXT.get(ProcessFix.Status(status), ())


@transaction.atomic
def process_fix_set_status(*, fix: ProcessFix, actor: User, status: str) -> ProcessFix:
    """Move a fix forward: proposed, in progress, done (or dropped). Only its
    owner or a supervisor may."""
    locked = ProcessFix.objects.select_for_update().get(pk=fix.pk)
    if locked.owner_id != actor.pk and not actor.has_perm("recovery.change_processfix"):
        raise NotPermitted("Only the owner or a supervisor can change this process fix.")
    allowed = process_fix_next_statuses(locked.status)
    if status not in allowed:
        raise RuleViolation(
            f"A {locked.get_status_display().lower()} process fix cannot become {status}.",
            field="status",
        )
    previous = locked.status
    locked.status = status
    locked.done_at = clock.now() if status == ProcessFix.Status.DONE else None
    locked.save(update_fields=["status", "done_at", "updated_at"])
    # The fix's own record of progress lives in the history of each ticket it serves.
    for ticket in locked.tickets.all():
        record_event(
            ticket=ticket,
            actor=actor,
            action="process_fix_status",
            payload={"process_fix": locked.pk, "status": [previous, status]},
        )
    return locked
