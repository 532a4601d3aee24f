"""Reads for the console's pages, each a fixed number of queries."""

from django.db.models import Prefetch, QuerySet

from accounts.models import User
from recovery.models import Feedback, FollowUp
from tickets.models import Ticket
from tickets.selectors import ticket_detail


def ticket_page(*, user: User) -> QuerySet[Ticket]:
    """The ticket page: the API's detail (commitments, history, restitutions)
    plus the follow-up schedule and the customer's ratings."""
    return ticket_detail(user=user).prefetch_related(
        Prefetch("followups", queryset=FollowUp.objects.order_by("due_at", "id")),
        Prefetch("feedback", queryset=Feedback.objects.order_by("created_at", "id")),
    )
