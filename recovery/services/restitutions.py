"""Restitution on the spot, within authority; above it, a request for a
supervisor's approval (``restitution_approvals``). What a grant is charged
to, and how the limits hold under concurrency: ``restitution_charges``.
"""

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.db.models import QuerySet

from accounts.models import User
from core.compiled import CompiledQuery
from core.errors import RuleViolation
from core.inserts import inserted
from core.money import amount_for_field, percent_of
from recovery.models import ApprovalRequest, Restitution, RestitutionKind
from recovery.selectors import Policy, policy_for
from recovery.selectors.grant_room import counters_for, counters_now
from recovery.services.authority import limits_in_words
from recovery.services.restitution_charges import (
    LimitsExceeded,
    book,
    charge,
    limits_over,
)
from recovery.services.webhooks import webhook_emit
from tickets.models import Alert, Kind, Status, Ticket
from tickets.selectors import LARGEST_ID, sees_every_ticket, tickets_visible_to, viewer
from tickets.services.access import ensure_can_act
from tickets.services.alerts import alert_raise
from tickets.services.events import record_event
from tickets.services.messages import clean_text

# Where restitution fits: a mishap still being put right or recovering.
OPEN_FOR_RESTITUTION = (
    Status.NEW,
    Status.ACKNOWLEDGED,
    Status.APOLOGIZED,
    Status.COMMITTED,
    Status.REBUILDING,
)
MAX_AMOUNT = Decimal("1000000.00")

# Guidance (Gelbrich, Gäthke and Grégoire 2015; Haesevoets et al. 2017):
# compensation helps up to about the loss, and past 150% it can hurt.
SUGGEST_FROM_PERCENT, SUGGEST_TO_PERCENT, WARN_ABOVE_PERCENT = 60, 120, 150


# For a repeat failure: the paradox of a good recovery holds once, not twice
# (Maxham and Netemeyer 2002), so the guidance turns from the amount to the cause.
REPEAT_FAILURE_GUIDANCE = (
    "This is a second failure for this customer, and a second failure is not recovered "
    "by money alone: what can win them back is knowing it will not happen a third time. "
    "Grant what the loss calls for, and fix the cause."
)


@dataclass(frozen=True)
class Guidance:
    suggested_min: Decimal
    suggested_max: Decimal
    warning: str


def guidance_for(*, amount: Decimal, loss: Decimal | None, currency: str) -> Guidance | None:
    if loss is None or loss <= 0:
        return None
    warning = ""
    if amount > loss * WARN_ABOVE_PERCENT / 100:
        warning = (
            f"This is more than {WARN_ABOVE_PERCENT}% of the customer's loss: past that point "
            "compensation stops helping and can make the customer uneasy."
        )
    return Guidance(
        suggested_min=percent_of(loss, SUGGEST_FROM_PERCENT, currency),
        suggested_max=percent_of(loss, SUGGEST_TO_PERCENT, currency),
        warning=warning,
    )


def validate_authority(*, policy: Policy, kind: str, currency: str, who: str) -> None:
    if kind not in RestitutionKind.values:
        raise RuleViolation(f"{kind!r} is not a kind of restitution.", field="kind")
    if kind not in policy.allowed_kinds:
        label = RestitutionKind(kind).label.lower()
        if kind == RestitutionKind.OTHER:
            words = "other kinds of restitution"
        else:
            words = f"{'an' if label[:1] in 'aeiou' else 'a'} {label}"
        raise RuleViolation(f"{who} may not grant {words}.", field="kind")
    if currency != policy.currency:
        raise RuleViolation(
            f"{who} can only grant in {policy.currency}, not {currency}.", field="currency"
        )


def restitution_grant(
    *,
    ticket: Ticket | int,
    actor: User,
    kind: str,
    amount: object,
    currency: str,
    reason: str,
    customer_loss: object | None = None,
    before_commit: Callable[[Restitution], None] | None = None,
) -> Restitution:
    """Grant a restitution on a mishap. Within every limit of the agent's
    authority it is granted at once and announced by webhook; above any
    limit it waits for a supervisor's approval, and the supervisors are told.

    ``before_commit`` is called with the result inside the grant's
    transaction: what must be written with it (an API call's idempotency
    record) is, without a transaction around it and a savepoint for this.

    Whether it is within limits is read from the counters without a lock;
    over one, nothing is charged or locked. Within them, the grant writes
    its rows (``before_commit``'s too) first and charges the budgets last,
    so the counter every grant of one agent waits for is held for the
    charge and the commit only (and, on a grant that is the first on a
    counter, which the charge creates, for writing the counters' ids on
    the restitution). Every grant thus locks its ticket, then its own rows,
    then the counters in their one order. If another grant spent the room
    in between, the charge refuses: everything is rolled back and the grant
    is made again as a request for approval, with the limits the charge
    found (``before_commit`` is then called again, with it).
    """

    def attempt(refused: list[str] | None) -> Restitution:
        with transaction.atomic():
            restitution, charge_last = _grant(
                ticket=ticket,
                actor=actor,
                kind=kind,
                amount=amount,
                currency=currency,
                reason=reason,
                customer_loss=customer_loss,
                refused=refused,
            )
            if before_commit is not None:
                before_commit(restitution)
            if charge_last is not None:
                charge_last()
            return restitution

    try:
        return attempt(refused=None)
    except LimitsExceeded as over:
        return attempt(refused=over.limits)


ANY_TICKET = "any"  # the caller holds the ticket already: no visibility to check


def _locked_ticket(shape: bool | str, *, user_id: int, ticket_id: int) -> QuerySet[Ticket]:
    tickets = (
        Ticket.objects.all()
        if shape == ANY_TICKET
        else tickets_visible_to(viewer(user_id, sees_all=bool(shape)))
    )
    return (
        tickets.select_for_update(of=("self",))
        .select_related("queue", "customer")
        .filter(pk=ticket_id)
    )


# Every grant locks its ticket by this query: built and compiled once a
# process for each kind of caller (``core.compiled``).
_LOCKED = CompiledQuery(build=_locked_ticket)


def _grant(
    *,
    ticket: Ticket | int,
    actor: User,
    kind: str,
    amount: object,
    currency: str,
    reason: str,
    customer_loss: object | None,
    refused: list[str] | None,
) -> tuple[Restitution, Callable[[], None] | None]:
    """The grant, and the charge to make last in its transaction (None for
    a request for approval): within limits by the counters as read now,
    unless the charge already ``refused`` it."""
    currency = currency.upper()
    amount = amount_for_field(amount, currency, field="amount")
    if amount <= 0 or amount > MAX_AMOUNT:
        raise RuleViolation(f"The amount must be above 0 and at most {MAX_AMOUNT}.", field="amount")
    loss = (
        None
        if customer_loss is None
        else amount_for_field(customer_loss, currency, field="customer_loss")
    )
    if loss is not None and loss < 0:
        raise RuleViolation("The customer's loss cannot be negative.", field="customer_loss")
    reason = clean_text(reason, field="reason", limit=2_000)

    # By id, the ticket must be one the actor may see, or Ticket.DoesNotExist
    # (an API call's 404, found by the same query that locks it).
    if isinstance(ticket, int) and not 0 < ticket <= LARGEST_ID:
        raise Ticket.DoesNotExist("No ticket with that number that you can see.")
    found = _LOCKED.rows(
        sees_every_ticket(actor) if isinstance(ticket, int) else ANY_TICKET,
        user_id=actor.pk,
        ticket_id=ticket if isinstance(ticket, int) else ticket.pk,
    )
    if not found:
        raise Ticket.DoesNotExist("No ticket with that number that you can see.")
    locked = found[0]
    ensure_can_act(actor, locked)
    if locked.kind != Kind.MISHAP or locked.status not in OPEN_FOR_RESTITUTION:
        raise RuleViolation(
            "Restitution is granted on a mishap that is open or recovering, "
            f"not on a {locked.get_status_display().lower()} {locked.get_kind_display().lower()}."
        )
    policy = policy_for(actor)
    validate_authority(policy=policy, kind=kind, currency=currency, who="You")

    def draft() -> Restitution:
        return Restitution(
            ticket=locked,
            customer=locked.customer,
            agent=actor,
            kind=kind,
            amount=amount,
            currency=currency,
            reason=reason,
            customer_loss=loss,
        )

    counters = counters_for(payer=actor, policy=policy, ticket=locked)
    now = counters_now(counters, currency=currency) if refused is None else {}
    if refused is None:
        refused = limits_over(counters=counters, now=now, amount=amount)
    if not refused:
        restitution = draft()
        restitution.status = Restitution.Status.GRANTED
        restitution.charged_to = actor
        # The counters' ids where they all exist; else the charge creates the
        # missing ones, and they are written after it.
        keys = [(c.scope, c.subject_id, c.period) for c in counters]
        restitution.counter_ids = [now[k][0] for k in keys] if all(k in now for k in keys) else []
        inserted(restitution)
        book(restitution, payer=actor, amount=amount)
        record_event(
            ticket=locked,
            actor=actor,
            action="restitution_granted",
            payload=restitution_summary(restitution),
        )
        webhook_emit(event="restitution.granted", data=restitution_data(restitution))
        # Granted at once: it has no approval request, nor ever will, so
        # whoever renders it need not ask the database.
        Restitution.approval.related.set_cached_value(restitution, None)

        def charge_last() -> None:
            charged = charge(counters=counters, currency=currency, amount=amount)
            if charged != restitution.counter_ids:  # the first grant on a counter
                restitution.counter_ids = charged
                Restitution.objects.filter(pk=restitution.pk).update(counter_ids=charged)

        return restitution, charge_last

    restitution = draft()
    restitution.status = Restitution.Status.PENDING_APPROVAL
    inserted(restitution)
    approval = inserted(
        ApprovalRequest(restitution=restitution, requested_by=actor, limits_exceeded=refused)
    )
    record_event(
        ticket=locked,
        actor=actor,
        action="restitution_requested",
        payload=restitution_summary(restitution)
        | {"approval": approval.pk, "limits_exceeded": refused},
    )
    alert_raise(
        ticket=locked,
        kind=Alert.Kind.APPROVAL_REQUESTED,
        detail=(
            f"{actor.get_full_name() or actor.username} asks to grant a "
            f"{restitution.get_kind_display().lower()} of {amount} {currency} to "
            f"{locked.customer.name}, above {limits_in_words(refused, policy)}. "
            f"Reason: {reason}"
        ),
        include_assignee=False,
    )
    return restitution, None


def restitution_summary(restitution: Restitution) -> dict[str, object]:
    return {
        "restitution": restitution.pk,
        "kind": restitution.kind,
        "amount": str(restitution.amount),
        "currency": restitution.currency,
        "status": restitution.status,
    }


def restitution_data(restitution: Restitution) -> dict[str, object]:
    """What integrations receive about a restitution (for example, to execute a refund)."""
    return {
        "restitution_id": restitution.pk,
        "ticket_id": restitution.ticket_id,
        "ticket_reference": f"HD-{restitution.ticket_id:06d}",
        "customer": {"id": restitution.customer_id, "email": restitution.customer.email},
        "kind": restitution.kind,
        "amount": str(restitution.amount),
        "currency": restitution.currency,
        "status": restitution.status,
        "granted_by": restitution.agent_id,
        "charged_to": restitution.charged_to_id,
        "reason": restitution.reason,
    }
