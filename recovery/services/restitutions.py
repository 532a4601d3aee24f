"""Restitution on the spot, within authority; above it, a supervisor decides.

Limits are enforced on spend counters (see ``SpendCounter``) read under
their row locks, taken in one order by every grant, approval and void
(ticket, then its counters: ticket, customer, payer): any number of
simultaneous grants cannot spend past a limit, nor wait on each other in a
cycle.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Case, F, Value, When
from django.utils import timezone

from accounts.models import User
from core.errors import NotPermitted, RuleViolation
from core.money import MoneyError, percent_of, to_amount
from recovery.models import ApprovalRequest, Period, Restitution, RestitutionKind, SpendEntry
from recovery.models.authority import WHOLE_LIFE, SpendCounter
from recovery.services.authority import Policy, limits_in_words, period_start, policy_for
from recovery.services.webhooks import webhook_emit
from tickets.models import Alert, Kind, Status, Ticket
from tickets.selectors import tickets_visible_to
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


class _LimitsExceeded(Exception):
    def __init__(self, limits: list[str]) -> None:
        self.limits = limits


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


@dataclass(frozen=True)
class _Counter:
    """A counter a grant adds to: its key, and the limit it is held to."""

    limit_name: str
    scope: str
    subject_id: int
    period: str
    period_start: date
    limit: Decimal | None  # None: counted, not limited by this grant's policy


def _counters(*, payer: User, policy: Policy, ticket: Ticket) -> list[_Counter]:
    """The counters a grant adds to, in the order they are always locked:
    ticket, customer, payer.

    The customer's spend is counted per day, week and month alike, so a grant
    counts against every later granter's per-customer limit whatever period
    their policy uses; only the payer's own period is checked here."""
    customer = [
        _Counter(
            "per_customer_limit",
            SpendCounter.Scope.CUSTOMER,
            ticket.customer_id,
            period,
            period_start(period),
            policy.per_customer_limit if period == policy.period else None,
        )
        for period in Period.values
    ]
    return [
        _Counter(
            "per_incident_limit",
            SpendCounter.Scope.TICKET,
            ticket.pk,
            "",
            WHOLE_LIFE,
            policy.per_incident_limit,
        ),
        *customer,
        _Counter(
            "per_period_limit",
            SpendCounter.Scope.GRANTER,
            payer.pk,
            policy.period,
            period_start(policy.period),
            policy.per_period_limit,
        ),
    ]


# One statement creates the counters that are missing, locks them all in the
# order of its rows (ON CONFLICT DO UPDATE locks the rows it does not update
# too), and adds the amount to each that stays within its limit. A parallel
# grant of the same payer waits at the first counter the two share, so the
# limits hold however many grants run at once, and locks are always taken in
# one order (a void's too), so none waits on another in a cycle. The same SQL
# on PostgreSQL and on the SQLite of the local demo.
_CHARGE = """
INSERT INTO recovery_spendcounter AS counter
    (scope, subject_id, period, period_start, currency, spent)
VALUES {rows}
ON CONFLICT (scope, subject_id, period, period_start, currency)
DO UPDATE SET spent = counter.spent + excluded.spent
WHERE counter.spent + excluded.spent <= COALESCE(
    CASE {limits} END, counter.spent + excluded.spent
)
RETURNING id, scope, subject_id, period, spent
"""
_ROW = "(%s, %s, %s, %s, %s, CAST(%s AS DECIMAL))"
_LIMIT = (
    "WHEN counter.scope = %s AND counter.subject_id = %s AND counter.period = %s "
    "THEN CAST(%s AS DECIMAL)"
)


def _charge(*, counters: list[_Counter], currency: str, amount: Decimal) -> list[int]:
    """Add the amount to every counter and return their ids, in order; or
    raise with the limits it would break, with every counter as it was (but
    for any it had to create, left at zero). The counters stay locked until
    the transaction ends."""
    rows = [
        (c.scope, c.subject_id, c.period, c.period_start, currency, str(amount)) for c in counters
    ]
    limited = [c for c in counters if c.limit is not None]
    limits = [(c.scope, c.subject_id, c.period, str(c.limit)) for c in limited]
    sql = _CHARGE.format(
        rows=", ".join([_ROW] * len(rows)), limits=" ".join([_LIMIT] * len(limits))
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [value for row in rows + limits for value in row])
        charged = {
            (scope, subject_id, period): (pk, Decimal(str(spent)))
            for pk, scope, subject_id, period, spent in cursor.fetchall()
        }
    exceeded = []
    for counter in counters:
        found = charged.get((counter.scope, counter.subject_id, counter.period))
        # Not returned: over its limit. Created now with the amount: over it
        # if the amount alone is.
        if found is None or (counter.limit is not None and found[1] > counter.limit):
            exceeded.append(counter.limit_name)
    if exceeded:
        SpendCounter.objects.filter(pk__in=[pk for pk, _ in charged.values()]).update(
            spent=F("spent") - amount
        )
        raise _LimitsExceeded(exceeded)
    return [charged[(c.scope, c.subject_id, c.period)][0] for c in counters]


def _validate(*, policy: Policy, kind: str, currency: str, who: str) -> None:
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


def _money(value: object, currency: str, field: str) -> Decimal:
    try:
        amount = to_amount(value, currency)
    except MoneyError as exc:
        raise RuleViolation(str(exc), field=field) from None
    return amount


@transaction.atomic
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

    ``before_commit`` is called with the result last, inside the grant's
    transaction: what must be written with it (an API call's idempotency
    record) is, without a transaction around it and a savepoint for this."""
    restitution = _grant(
        ticket=ticket,
        actor=actor,
        kind=kind,
        amount=amount,
        currency=currency,
        reason=reason,
        customer_loss=customer_loss,
    )
    if before_commit is not None:
        before_commit(restitution)
    return restitution


def _grant(
    *,
    ticket: Ticket | int,
    actor: User,
    kind: str,
    amount: object,
    currency: str,
    reason: str,
    customer_loss: object | None,
) -> Restitution:
    currency = currency.upper()
    amount = _money(amount, currency, "amount")
    if amount <= 0 or amount > MAX_AMOUNT:
        raise RuleViolation(f"The amount must be above 0 and at most {MAX_AMOUNT}.", field="amount")
    loss = None if customer_loss is None else _money(customer_loss, currency, "customer_loss")
    if loss is not None and loss < 0:
        raise RuleViolation("The customer's loss cannot be negative.", field="customer_loss")
    reason = clean_text(reason, field="reason", limit=2_000)

    # By id, the ticket must be one the actor may see, or Ticket.DoesNotExist
    # (an API call's 404, found by the same query that locks it).
    tickets = tickets_visible_to(actor) if isinstance(ticket, int) else Ticket.objects.all()
    locked = (
        tickets.select_for_update(of=("self",))
        .select_related("queue", "customer")
        .get(pk=ticket if isinstance(ticket, int) else ticket.pk)
    )
    ensure_can_act(actor, locked)
    if locked.kind != Kind.MISHAP or locked.status not in OPEN_FOR_RESTITUTION:
        raise RuleViolation(
            "Restitution is granted on a mishap that is open or recovering, "
            f"not on a {locked.get_status_display().lower()} {locked.get_kind_display().lower()}."
        )
    policy = policy_for(actor)
    _validate(policy=policy, kind=kind, currency=currency, who="You")

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

    try:
        counter_ids = _charge(
            counters=_counters(payer=actor, policy=policy, ticket=locked),
            currency=currency,
            amount=amount,
        )
    except _LimitsExceeded as over:
        refused = over.limits
    else:
        restitution = draft()
        restitution.status = Restitution.Status.GRANTED
        restitution.charged_to = actor
        restitution.counter_ids = counter_ids
        restitution.save()
        _book(restitution, payer=actor, amount=amount)
        record_event(
            ticket=locked, actor=actor, action="restitution_granted", payload=_summary(restitution)
        )
        webhook_emit(event="restitution.granted", data=restitution_data(restitution))
        # Granted at once: it has no approval request, nor ever will, so
        # whoever renders it need not ask the database.
        Restitution.approval.related.set_cached_value(restitution, None)
        return restitution

    restitution = draft()
    restitution.status = Restitution.Status.PENDING_APPROVAL
    restitution.save()
    approval = ApprovalRequest.objects.create(
        restitution=restitution, requested_by=actor, limits_exceeded=refused
    )
    record_event(
        ticket=locked,
        actor=actor,
        action="restitution_requested",
        payload=_summary(restitution) | {"approval": approval.pk, "limits_exceeded": refused},
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
    return restitution


def _book(restitution: Restitution, *, payer: User, amount: Decimal) -> None:
    SpendEntry.objects.create(
        user=payer,
        restitution=restitution,
        ticket_id=restitution.ticket_id,
        customer_id=restitution.customer_id,
        amount=amount,
        currency=restitution.currency,
    )


def _summary(restitution: Restitution) -> dict[str, object]:
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
    counter_ids = locked.counter_ids
    in_order = Case(*(When(pk=pk, then=Value(n)) for n, pk in enumerate(counter_ids)))
    list(SpendCounter.objects.select_for_update().filter(pk__in=counter_ids).order_by(in_order))
    SpendCounter.objects.filter(pk__in=counter_ids).update(spent=F("spent") - locked.amount)
    SpendEntry.objects.create(
        user_id=payer_id,
        restitution=locked,
        ticket_id=locked.ticket_id,
        customer_id=locked.customer_id,
        amount=-locked.amount,
        currency=locked.currency,
    )
    locked.status = Restitution.Status.VOIDED
    locked.voided_at = timezone.now()
    locked.voided_by = actor
    locked.void_reason = reason
    locked.save(update_fields=["status", "voided_at", "voided_by", "void_reason"])
    record_event(
        ticket=locked.ticket,
        actor=actor,
        action="restitution_voided",
        payload=_summary(locked) | {"reason": reason},
    )
    webhook_emit(event="restitution.voided", data=restitution_data(locked) | {"reason": reason})
    return locked


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
        _validate(
            policy=policy,
            kind=restitution.kind,
            currency=restitution.currency,
            who="Your own authority",
        )
        try:
            counter_ids = _charge(
                counters=_counters(payer=actor, policy=policy, ticket=ticket),
                currency=restitution.currency,
                amount=restitution.amount,
            )
        except _LimitsExceeded as over:
            raise RuleViolation(
                "Your own authority does not cover this: it is above "
                f"{limits_in_words(over.limits, policy, whose='your')}.",
                limits_exceeded=over.limits,
            ) from None
        restitution.status = Restitution.Status.APPROVED
        restitution.charged_to = actor
        restitution.counter_ids = counter_ids
        _book(restitution, payer=actor, amount=restitution.amount)
    else:
        restitution.status = Restitution.Status.REJECTED
    restitution.save(update_fields=["status", "charged_to", "counter_ids"])
    locked.status = ApprovalRequest.Status.APPROVED if approve else ApprovalRequest.Status.REJECTED
    locked.decided_by = actor
    locked.decided_at = timezone.now()
    locked.reason = reason
    locked.save(update_fields=["status", "decided_by", "decided_at", "reason"])

    verb = "approved" if approve else "rejected"
    record_event(
        ticket=ticket,
        actor=actor,
        action=f"restitution_{verb}",
        payload=_summary(restitution) | {"approval": locked.pk, "reason": reason},
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
