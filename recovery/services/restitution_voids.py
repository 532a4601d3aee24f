"""Taking back a restitution in force: its amount returns to every budget
it was charged to."""

from django.db import transaction

from accounts.models import User
from core import clock
from core.errors import NotPermitted, RuleViolation
from recovery.models import Restitution
from recovery.services.restitution_charges import refund
from recovery.services.restitutions import restitution_data, restitution_summary
from recovery.services.webhooks import webhook_emit
from tickets.models import Ticket
from tickets.services.events import record_event
from tickets.services.messages import clean_text


@transaction.atomic
def restitution_void(*, restitution: Restitution, actor: User, reason: str) -> Restitution:
    """Take back a restitution in force: the amount returns to every budget it
    was charged to. The granter, the payer or a supervisor may."""
    reason = clean_text(reason, field="reason", limit=2_000)
    # Only the restitution's own row: locking its customer too (FOR UPDATE
    # follows every join) would block the customer's other grants, which
    # reference the customer, while this void waits for the counters they
    # hold: a deadlock.
    locked = (
        Restitution.objects.select_for_update(of=("self",))
        .select_related("customer")
        .get(pk=restitution.pk)
    )
    allowed = actor.pk in (locked.agent_id, locked.charged_to_id) or actor.has_perm(
        "recovery.decide_approvalrequest"
    )
    if not allowed:
        raise NotPermitted("Only who granted it, who paid for it, or a supervisor may void this.")
    if not locked.is_in_force:
        raise RuleViolation(
            f"A restitution that is {locked.get_status_display().lower()} cannot be voided."
        )
    payer_id = locked.charged_to_id
    if payer_id is None:  # ruled out by a database constraint on restitutions in force
        raise RuleViolation("This restitution has no payer to refund.")
    # Locks in the order every grant takes them (ticket, then its counters in
    # scope order), so a void and a grant never wait on each other in a cycle.
    Ticket.objects.select_for_update(of=("self",)).filter(pk=locked.ticket_id).first()
    refund(locked, payer_id=payer_id)
    locked.status = Restitution.Status.VOIDED
    locked.voided_at = clock.now()
    locked.voided_by = actor
    locked.void_reason = reason
    locked.save(update_fields=["status", "voided_at", "voided_by", "void_reason"])
    record_event(
        ticket=locked.ticket,
        actor=actor,
        action="restitution_voided",
        payload=restitution_summary(locked) | {"reason": reason},
    )
    webhook_emit(event="restitution.voided", data=restitution_data(locked) | {"reason": reason})
    return locked
