"""Restitution on the spot, within authority; above it, a supervisor decides.

Limits are enforced by conditional UPDATEs on spend counters (see
``SpendCounter``), never by reading a total and then writing: any number of
simultaneous grants cannot spend past a limit.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from accounts.models import User
from core.errors import NotPermitted, RuleViolation
from core.money import MoneyError, percent_of, to_amount
from recovery.models import ApprovalRequest, Period, Restitution, RestitutionKind, SpendEntry
from recovery.models.authority import WHOLE_LIFE, SpendCounter
from recovery.services.authority import Policy, limits_in_words, period_start, policy_for
from recovery.services.webhooks import webhook_emit
from tickets.models import Alert, Kind, Status, Ticket
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
    limit_name: str
    pk: int
    limit: Decimal | None
    spent: Decimal  # as read, without a lock: only ever used to refuse early

    def refuses(self, amount: Decimal) -> bool:
        return self.limit is not None and self.spent + amount > self.limit


def _counters(*, payer: User, policy: Policy, ticket: Ticket) -> list[_Counter]:
    """The counters a grant adds to, in the order they are always charged
    (ticket, customer, payer), creating the missing ones; takes no lock.

    The customer's spend is counted per day, week and month alike, so a grant
    counts against every later granter's per-customer limit whatever period
    their policy uses; only the payer's own period is checked here."""
    scopes: list[tuple[str, str, int, str, date, Decimal | None]] = [
        (
            "per_incident_limit",
            SpendCounter.Scope.TICKET,
            ticket.pk,
            "",
            WHOLE_LIFE,
            policy.per_incident_limit,
        ),
    ]
    for period in Period.values:
        scopes.append(
            (
                "per_customer_limit",
                SpendCounter.Scope.CUSTOMER,
                ticket.customer_id,
                period,
                period_start(period),
                policy.per_customer_limit if period == policy.period else None,
            )
        )
    scopes.append(
        (
            "per_period_limit",
            SpendCounter.Scope.GRANTER,
            payer.pk,
            policy.period,
            period_start(policy.period),
            policy.per_period_limit,
        )
    )
    keys = Q()
    for _, scope, subject, period, first, _ in scopes:
        keys |= Q(scope=scope, subject_id=subject, period=period, period_start=first)
    existing = SpendCounter.objects.filter(keys, currency=policy.currency)

    def ids() -> dict[tuple[str, int, str, date], tuple[int, Decimal]]:
        return {
            (scope, subject, period, first): (pk, spent)
            for pk, scope, subject, period, first, spent in existing.values_list(
                "pk", "scope", "subject_id", "period", "period_start", "spent"
            )
        }

    # Most grants find every counter already there: one read. A first grant
    # on a ticket (or in a new period) creates what is missing; a counter
    # created at the same moment by a parallel grant is simply kept.
    found = ids()
    if len(found) < len(scopes):
        SpendCounter.objects.bulk_create(
            [
                SpendCounter(
                    scope=scope,
                    subject_id=subject,
                    period=period,
                    period_start=first,
                    currency=policy.currency,
                )
                for _, scope, subject, period, first, _ in scopes
            ],
            ignore_conflicts=True,
        )
        found = ids()
    counters = []
    for limit_name, scope, subject, period, first, limit in scopes:
        pk, spent = found[(scope, subject, period, first)]
        counters.append(_Counter(limit_name, pk, limit, spent))
    return counters


def _charge(*, counters: list[_Counter], amount: Decimal) -> None:
    """Add the amount to every counter, or raise with the limits it would
    break. Call inside a savepoint: on failure the caller rolls it back,
    which undoes the counters already raised and releases their row locks.

    One conditional UPDATE per counter, in the order of ``counters``, which
    every grant, approval and void follows (ticket, customer, payer), so
    concurrent ones cannot deadlock; the payer's counter, the one every grant
    of that payer waits for, comes last."""
    exceeded = []
    for counter in counters:
        row = SpendCounter.objects.filter(pk=counter.pk)
        within = row if counter.limit is None else row.filter(spent__lte=counter.limit - amount)
        if not within.update(spent=F("spent") + amount):
            exceeded.append(counter.limit_name)
    if exceeded:
        raise _LimitsExceeded(exceeded)


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
    ticket: Ticket,
    actor: User,
    kind: str,
    amount: object,
    currency: str,
    reason: str,
    customer_loss: object | None = None,
) -> Restitution:
    """Grant a restitution on a mishap. Within every limit of the agent's
    authority it is granted at once and announced by webhook; above any
    limit it waits for a supervisor's approval, and the supervisors are told."""
    currency = currency.upper()
    amount = _money(amount, currency, "amount")
    if amount <= 0 or amount > MAX_AMOUNT:
        raise RuleViolation(f"The amount must be above 0 and at most {MAX_AMOUNT}.", field="amount")
    loss = None if customer_loss is None else _money(customer_loss, currency, "customer_loss")
    if loss is not None and loss < 0:
        raise RuleViolation("The customer's loss cannot be negative.", field="customer_loss")
    reason = clean_text(reason, field="reason", limit=2_000)

    locked = (
        Ticket.objects.select_for_update(of=("self",))
        .select_related("queue", "customer")
        .get(pk=ticket.pk)
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

    counters = _counters(payer=actor, policy=policy, ticket=locked)
    # Over a limit by the counters as they stand: to approval at once. Safe
    # without a lock: the read only ever refuses (as if this grant came just
    # before whatever changed the counter since), never grants.
    refused = [counter.limit_name for counter in counters if counter.refuses(amount)]
    if not refused:
        # Written as granted first and charged last: every grant of this payer
        # waits for the payer's counter, so its lock is taken as late as
        # possible and held only until commit, not while the restitution, its
        # ledger line, event and webhook are written. Over a limit, the
        # savepoint rolls all of it back (the counters raised too, and their
        # locks are released), the webhook queued on commit with it.
        restitution = draft()
        try:
            with transaction.atomic():
                restitution.status = Restitution.Status.GRANTED
                restitution.charged_to = actor
                restitution.counter_ids = [counter.pk for counter in counters]
                restitution.save()
                _book(restitution, payer=actor, amount=amount)
                record_event(
                    ticket=locked,
                    actor=actor,
                    action="restitution_granted",
                    payload=_summary(restitution),
                )
                webhook_emit(event="restitution.granted", data=restitution_data(restitution))
                _charge(counters=counters, amount=amount)
        except _LimitsExceeded as over:
            refused = over.limits
        else:
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
    for counter_id in locked.counter_ids:
        SpendCounter.objects.filter(pk=counter_id).update(spent=F("spent") - locked.amount)
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
        counters = _counters(payer=actor, policy=policy, ticket=ticket)
        try:
            with transaction.atomic():
                _charge(counters=counters, amount=restitution.amount)
        except _LimitsExceeded as over:
            raise RuleViolation(
                "Your own authority does not cover this: it is above "
                f"{limits_in_words(over.limits, policy, whose='your')}.",
                limits_exceeded=over.limits,
            ) from None
        restitution.status = Restitution.Status.APPROVED
        restitution.charged_to = actor
        restitution.counter_ids = [counter.pk for counter in counters]
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
