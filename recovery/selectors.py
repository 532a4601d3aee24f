"""Reads of the recovery app that pages share, each a fixed number of
queries whatever the number of rows."""

from collections.abc import Iterable
from datetime import datetime

from django.db.models import Prefetch, Q, QuerySet

from accounts.models import User
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
from recovery.services.authority import Remaining, period_start, policy_from, remaining_from

DECIDED = (ApprovalRequest.Status.APPROVED, ApprovalRequest.Status.REJECTED)


def authority_remaining_many(
    users: Iterable[User], *, at: datetime | None = None
) -> dict[int, Remaining]:
    """``authority_remaining`` for many users at once, by user id, in two
    queries (their policy rows, then their spend counters). Prefetch the
    users' ``groups``: a user without a policy row gets their role's defaults."""
    people = {user.pk: user for user in users}
    if not people:
        return {}
    rows = {row.user_id: row for row in AuthorityPolicy.objects.filter(user_id__in=people)}
    policies = {pk: policy_from(user, rows.get(pk)) for pk, user in people.items()}
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


def authority_history(*, user: User) -> QuerySet[AuthorityPolicyChange]:
    """Changes to a person's authority, newest first, with who made them."""
    return (
        AuthorityPolicyChange.objects.filter(user=user)
        .select_related("changed_by")
        .order_by("-changed_at", "-id")
    )


def feedback_for(followup: FollowUp) -> Feedback | None:
    """The rating given through ``followup``'s links, if any."""
    return Feedback.objects.filter(followup=followup).first()


def customer_opted_out(customer_id: int) -> bool:
    """Whether the customer unsubscribed from follow-ups (and did not undo it)."""
    return FollowUpOptOut.objects.filter(customer_id=customer_id).exists()
