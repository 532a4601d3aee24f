"""Reads of the recovery app that pages, the API and the services share,
each a fixed number of queries whatever the number of rows.

Larger reads have a module of their own here: ``grant_room`` (what a grant
may still spend, from the counters it charges), ``followup_plans`` (what a
plan's follow-ups say) and ``followup_links`` (the signed links of a
follow-up email, made and read back)."""

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from accounts.backends import read_with_access
from accounts.models import User
from core import clock
from recovery.models import (
    ApprovalRequest,
    AuthorityPolicy,
    AuthorityPolicyChange,
    Feedback,
    FollowUp,
    FollowUpOptOut,
    Period,
    Restitution,
)
from recovery.models.authority import SpendCounter
from recovery.trust import ticket_trust_annotations
from tickets.models import Ticket
from tickets.selectors import tickets_visible_to

DECIDED = (ApprovalRequest.Status.APPROVED, ApprovalRequest.Status.REJECTED)


# --- authority: what each person may grant, and what is left of it --------------


@dataclass(frozen=True)
class Policy:
    per_incident_limit: Decimal
    per_period_limit: Decimal
    period: str
    per_customer_limit: Decimal
    allowed_kinds: tuple[str, ...]
    currency: str
    is_default: bool

    def as_record(self) -> dict[str, Any]:
        record = asdict(self)
        for name in ("per_incident_limit", "per_period_limit", "per_customer_limit"):
            record[name] = str(record[name])
        record["allowed_kinds"] = list(self.allowed_kinds)
        return record


def policy_for(user: User) -> Policy:
    """The user's policy, or their role's defaults when none is set; read
    with the signed-in user already (``accounts.backends.read_with_staff``)."""
    if read_with_access(user, "authority_policy"):
        return policy_from(user, getattr(user, "authority_policy", None))
    return policy_from(user, AuthorityPolicy.objects.filter(user=user).first())


def policies_for(users: Iterable[User]) -> dict[int, Policy]:
    """The policies of many users by id, in one query (read ``groups``
    through a prefetch for the role's defaults): for pages that list staff."""
    users = list(users)
    rows = {row.user_id: row for row in AuthorityPolicy.objects.filter(user__in=users)}
    return {user.pk: policy_from(user, rows.get(user.pk)) for user in users}


def policy_from(user: User, row: AuthorityPolicy | None) -> Policy:
    """The policy of ``user`` given their policy row (None when they have
    none), without a query when ``user.groups`` is prefetched."""
    if row is not None:
        return Policy(
            per_incident_limit=row.per_incident_limit,
            per_period_limit=row.per_period_limit,
            period=row.period,
            per_customer_limit=row.per_customer_limit,
            allowed_kinds=tuple(row.allowed_kinds),
            currency=row.currency,
            is_default=False,
        )
    role = user.role.value if user.role else None
    defaults: dict[str, Any] | None = settings.HELPDESK_AUTHORITY_DEFAULTS.get(role or "")
    if defaults is None:  # staff without a role: no authority at all
        return Policy(
            Decimal("0"),
            Decimal("0"),
            Period.WEEK,
            Decimal("0"),
            (),
            settings.DEFAULT_CURRENCY,
            True,
        )
    return Policy(
        per_incident_limit=Decimal(defaults["per_incident_limit"]),
        per_period_limit=Decimal(defaults["per_period_limit"]),
        period=defaults["period"],
        per_customer_limit=Decimal(defaults["per_customer_limit"]),
        allowed_kinds=tuple(defaults["allowed_kinds"]),
        currency=settings.DEFAULT_CURRENCY,
        is_default=True,
    )


def period_start(period: str, at: datetime | None = None) -> date:
    """The first day of the period containing ``at``, in the deployment's time zone."""
    # The deployment's zone, even where a view activated a user's zone for display.
    today = timezone.localdate(at or clock.now(), timezone.get_default_timezone())
    if period == Period.DAY:
        return today
    if period == Period.WEEK:
        return today - timedelta(days=today.weekday())  # ISO weeks start on Monday
    return today.replace(day=1)


@dataclass(frozen=True)
class Remaining:
    policy: Policy
    period_start: date
    period_spent: Decimal
    period_remaining: Decimal


def authority_remaining(user: User, *, at: datetime | None = None) -> Remaining:
    """What the user has granted this period and what is left of it."""
    policy = policy_for(user)
    start = period_start(policy.period, at)
    counter = SpendCounter.objects.filter(
        scope=SpendCounter.Scope.GRANTER,
        subject_id=user.pk,
        period=policy.period,
        period_start=start,
        currency=policy.currency,
    ).first()
    return remaining_from(policy, start, counter.spent if counter else None)


def remaining_from(policy: Policy, start: date, spent: Decimal | None) -> Remaining:
    """What is left of ``policy`` once ``spent`` (None: nothing yet) is granted."""
    spent = spent if spent is not None else Decimal("0.00")
    return Remaining(policy, start, spent, max(policy.per_period_limit - spent, Decimal("0.00")))


def authority_remaining_many(
    users: Iterable[User], *, at: datetime | None = None
) -> dict[int, Remaining]:
    """``authority_remaining`` for many users at once, by user id, in two
    queries (their policy rows, then their spend counters). Prefetch the
    users' ``groups``: a user without a policy row gets their role's defaults."""
    people = {user.pk: user for user in users}
    if not people:
        return {}
    policies = policies_for(people.values())
    starts = {period: period_start(period, at) for period in Period.values}
    wanted = Q()
    for period, start in starts.items():
        holders = [pk for pk, policy in policies.items() if policy.period == period]
        if holders:
            wanted |= Q(period=period, period_start=start, subject_id__in=holders)
    spent = {
        (subject, period, currency): amount
        for subject, period, currency, amount in SpendCounter.objects.filter(
            wanted, scope=SpendCounter.Scope.GRANTER
        ).values_list("subject_id", "period", "currency", "spent")
    }
    return {
        pk: remaining_from(
            policy, starts[policy.period], spent.get((pk, policy.period, policy.currency))
        )
        for pk, policy in policies.items()
    }


def authority_history(*, user: User) -> QuerySet[AuthorityPolicyChange]:
    """Changes to a person's authority, newest first, with who made them."""
    return (
        AuthorityPolicyChange.objects.filter(user=user)
        .select_related("changed_by")
        .order_by("-changed_at", "-id")
    )


# --- approvals -------------------------------------------------------------------


def approval_list(*, status: str | Iterable[str]) -> QuerySet[ApprovalRequest]:
    """Approval requests with what a supervisor needs to decide: the ticket,
    its customer, the restitution, who asked (with their roles, for their
    remaining authority) and who decided. Pending ones oldest first (the
    longest wait at the top); decided ones most recent first."""
    statuses = [status] if isinstance(status, str) else list(status)
    approvals = (
        ApprovalRequest.objects.filter(status__in=statuses)
        .select_related(
            "restitution__ticket__customer", "requested_by", "decided_by", "restitution__customer"
        )
        .prefetch_related(
            "requested_by__groups",
            # What the ticket already has: the supervisor decides knowing it.
            Prefetch(
                "restitution__ticket__restitutions",
                queryset=Restitution.objects.filter(
                    status__in=[Restitution.Status.GRANTED, Restitution.Status.APPROVED]
                )
                .select_related("agent")
                .order_by("created_at", "id"),
                to_attr="in_force",
            ),
        )
    )
    if statuses == [ApprovalRequest.Status.PENDING]:
        return approvals.order_by("created_at", "id")
    return approvals.order_by("-decided_at", "-id")


def approvals_pending() -> QuerySet[ApprovalRequest]:
    return ApprovalRequest.objects.filter(status=ApprovalRequest.Status.PENDING)


def approvals_visible_to(user: User, *, status: str | None = None) -> QuerySet[ApprovalRequest]:
    """The API's approval requests, oldest first: a supervisor sees every
    one; an agent, their own."""
    approvals = ApprovalRequest.objects.select_related("restitution__approval")
    if status is not None:
        approvals = approvals.filter(status=status)
    if not user.has_perm("recovery.decide_approvalrequest"):
        approvals = approvals.filter(requested_by=user)
    return approvals.order_by("created_at", "id")


def approvals_to_decide() -> QuerySet[ApprovalRequest]:
    """Approval requests as a decision reads and answers them."""
    return ApprovalRequest.objects.select_related("restitution__approval")


# --- restitutions and follow-ups of the tickets a person sees -------------------


def ticket_restitutions(*, ticket: Ticket) -> QuerySet[Restitution]:
    return Restitution.objects.filter(ticket=ticket).select_related("approval")


def restitutions_visible_to(user: User) -> QuerySet[Restitution]:
    """Restitutions on the tickets ``user`` may see."""
    return Restitution.objects.filter(ticket_id__in=tickets_visible_to(user).values("pk"))


def ticket_followups(*, ticket: Ticket) -> QuerySet[FollowUp]:
    return FollowUp.objects.filter(ticket=ticket).select_related("feedback")


def followups_visible_to(user: User) -> QuerySet[FollowUp]:
    """Follow-ups of the tickets ``user`` may see."""
    return FollowUp.objects.filter(ticket_id__in=tickets_visible_to(user).values("pk"))


def feedback_for(followup: FollowUp) -> Feedback | None:
    """The rating given through ``followup``'s links, if any."""
    return Feedback.objects.filter(followup=followup).first()


def customer_opted_out(customer_id: int) -> bool:
    """Whether the customer unsubscribed from follow-ups (and did not undo it)."""
    return FollowUpOptOut.objects.filter(customer_id=customer_id).exists()


# --- recovery's part of the ticket's detail -------------------------------------

# Also what the resolve guard reads (``recovery.hooks``): no query of its own.
RESTITUTIONS_PREFETCH = Prefetch(
    "restitutions",
    queryset=Restitution.objects.select_related("approval__decided_by").order_by(
        "created_at", "id"
    ),
)


def with_recovery(tickets: QuerySet[Ticket], *, now: datetime | None = None) -> QuerySet[Ticket]:
    """What recovery adds to a ticket's detail (``tickets.selectors.with_details``):
    its restitutions, in one query for the page, and the customer's trust as
    of ``now``, computed in the ticket's own query (read with
    ``recovery.trust.profile_of``)."""
    return tickets.prefetch_related(RESTITUTIONS_PREFETCH).annotate(
        **ticket_trust_annotations(now=now)
    )
