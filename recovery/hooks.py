"""How recovery takes part in the ticket flow (registered in RecoveryConfig.ready)."""

from typing import Any

from recovery.models import Restitution
from tickets.models import Ticket

SETTLE_APPROVALS = "settle_pending_approvals"


def pending_approvals_block_resolution(ticket: Ticket) -> list[str]:
    """A mishap is not resolved while a restitution awaits a supervisor.
    Reads through the ``restitutions`` prefetch when there is one
    (``recovery.selectors.with_recovery``, ``RESTITUTIONS_PREFETCH``)."""
    pending = Restitution.Status.PENDING_APPROVAL
    if any(r.status == pending for r in ticket.restitutions.all()):
        return [SETTLE_APPROVALS]
    return []


def alert_if_trust_at_risk(ticket: Ticket, actor: Any) -> None:
    """A new mishap for a customer who was already fragile or recovering
    (judged as they stood before it) goes to the supervisors, with why. A
    repeat failure has had its own alert, which says as much."""
    from recovery.trust import Level, trust_profile
    from tickets.models import Alert
    from tickets.services.alerts import alert_raise

    if ticket.is_repeat_failure:
        return
    before = trust_profile(ticket.customer_id, excluding_ticket=ticket.pk)
    if before.level not in (Level.FRAGILE, Level.RECOVERING):
        return
    customer = ticket.customer
    alert_raise(
        ticket=ticket,
        kind=Alert.Kind.TRUST_AT_RISK,
        detail=(
            f"{customer.name or customer.email} was already {before.label.lower()} "
            f"({'; '.join(before.reasons)}) and has a new mishap, {ticket.reference}: "
            f"“{ticket.subject}”. One more failure handled as usual can lose them: "
            "please look at this one yourself."
        ),
        include_assignee=False,
    )
