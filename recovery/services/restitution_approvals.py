"""A supervisor decides a restitution that was above its granter's authority:
approved, it is charged to the supervisor's own; rejected, with a reason."""

from django.db import transaction

from accounts.models import User
from core import clock
from core.errors import NotPermitted, RuleViolation
from recovery.models import ApprovalRequest, Restitution
from recovery.selectors import policy_for
from recovery.selectors.grant_room import counters_for
from recovery.services.authority import limits_in_words
from recovery.services.restitution_charges import LimitsExceeded, book, charge
from recovery.services.restitutions import (
    OPEN_FOR_RESTITUTION,
    restitution_data,
    restitution_summary,
    validate_authority,
)
from recovery.services.webhooks import webhook_emit
from tickets.models import Alert, Kind, Ticket
from tickets.services.alerts import alert_raise
from tickets.services.events import record_event
from tickets.services.messages import clean_text


@transaction.atomic
def approval_decide(
    *, approval: ApprovalRequest, actor: User, approve: bool, reason: str = ""
) -> ApprovalRequest:
    """A supervisor approves (charged to their own authority, which must cover
    it) or rejects (with a reason). Nobody decides their own request. The
    agent is told either way; integrations get ``approval.decided``."""
    if not actor.has_perm("recovery.decide_approvalrequest"):
        raise NotPermitted("Only supervisors approve or reject restitutions.")
    reason = clean_text(reason, field="reason", required=not approve, limit=2_000)
    locked = ApprovalRequest.objects.select_for_update().get(pk=approval.pk)
    if locked.requested_by_id == actor.pk:
        raise NotPermitted("You cannot decide your own request; another supervisor must.")
    if locked.status != ApprovalRequest.Status.PENDING:
        raise RuleViolation(f"This request was already {locked.get_status_display().lower()}.")
    restitution = (
        Restitution.objects.select_for_update(of=("self",))  # not the customer: see the void
        .select_related("customer")
        .get(pk=locked.restitution_id)
    )
    ticket = (
        Ticket.objects.select_for_update(of=("self",))
        .select_related("customer")
        .get(pk=restitution.ticket_id)
    )
    if approve and (ticket.kind != Kind.MISHAP or ticket.status not in OPEN_FOR_RESTITUTION):
        raise RuleViolation(
            f"The ticket is {ticket.get_status_display().lower()}: this restitution can only "
            "be rejected now."
        )
    if approve:
        policy = policy_for(actor)
        validate_authority(
            policy=policy,
            kind=restitution.kind,
            currency=restitution.currency,
            who="Your own authority",
        )
        try:
            counter_ids = charge(
                counters=counters_for(payer=actor, policy=policy, ticket=ticket),
                currency=restitution.currency,
                amount=restitution.amount,
            )
        except LimitsExceeded as over:
            raise RuleViolation(
                "Your own authority does not cover this: it is above "
                f"{limits_in_words(over.limits, policy, whose='your')}.",
                limits_exceeded=over.limits,
            ) from None
        restitution.status = Restitution.Status.APPROVED
        restitution.charged_to = actor
        restitution.counter_ids = counter_ids
        book(restitution, payer=actor, amount=restitution.amount)
    else:
        restitution.status = Restitution.Status.REJECTED
    restitution.save(update_fields=["status", "charged_to", "counter_ids"])
    locked.status = ApprovalRequest.Status.APPROVED if approve else ApprovalRequest.Status.REJECTED
    locked.decided_by = actor
    locked.decided_at = clock.now()
    locked.reason = reason
    locked.save(update_fields=["status", "decided_by", "decided_at", "reason"])

    verb = "approved" if approve else "rejected"
    record_event(
        ticket=ticket,
        actor=actor,
        action=f"restitution_{verb}",
        payload=restitution_summary(restitution) | {"approval": locked.pk, "reason": reason},
    )
    alert_raise(
        ticket=ticket,
        kind=Alert.Kind.APPROVAL_DECIDED,
        detail=(
            f"Your {restitution.get_kind_display().lower()} of {restitution.amount} "
            f"{restitution.currency} for {ticket.customer.name} was {verb}"
            + (f": {reason}" if reason else ".")
        ),
        recipients=[locked.requested_by],
    )
    webhook_emit(
        event="approval.decided",
        data={"approval_id": locked.pk, "decision": verb, "reason": reason}
        | {"restitution": restitution_data(restitution)},
    )
    if approve:
        webhook_emit(event="restitution.granted", data=restitution_data(restitution))
    return locked
