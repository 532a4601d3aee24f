"""The agent's queue: the console's change list of tickets, with the views
agents ask for (mine, my queues, unassigned, breached, awaiting approval),
filters, search and pagination from Django's admin."""

from typing import Any

from django.contrib import admin
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import HttpRequest

from accounts.models import User
from recovery.models import ApprovalRequest
from tickets.models import Queue, Ticket
from tickets.models.ticket import ticket_id_from_reference

OPEN = Q(closed_at__isnull=True, restored_at__isnull=True)


class QueueViewFilter(admin.SimpleListFilter):
    title = "show"
    parameter_name = "show"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [
            ("mine", "Assigned to me"),
            ("my_queues", "My queues"),
            ("unassigned", "Unassigned"),
            ("breached", "Target missed"),
            ("awaiting_approval", "Awaiting approval"),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Ticket]) -> QuerySet[Ticket]:
        user = request.user
        match self.value():
            case "mine":
                return queryset.filter(assignee_id=user.pk)
            case "my_queues":
                return queryset.filter(queue__in=Queue.objects.filter(members=user.pk))
            case "unassigned":
                return queryset.filter(assignee__isnull=True).filter(OPEN)
            case "breached":
                missed = Q(acknowledge_breached_at__isnull=False) | Q(
                    apologize_breached_at__isnull=False
                )
                return queryset.filter(missed).filter(OPEN)
            case "awaiting_approval":
                pending = ApprovalRequest.objects.filter(
                    restitution__ticket=OuterRef("pk"), status=ApprovalRequest.Status.PENDING
                )
                return queryset.filter(Exists(pending))
        return queryset


class QueueFilter(admin.RelatedFieldListFilter):
    """Only the queues the user may see tickets of, not every queue."""

    def field_choices(self, field: Any, request: HttpRequest, model_admin: Any) -> Any:
        user: User = request.user  # type: ignore[assignment]
        queues = Queue.objects.order_by("name")
        if not user.has_perm("tickets.view_all_tickets"):
            queues = queues.filter(members=user)
        return [(q.pk, q.name) for q in queues]


def search_by_reference(queryset: QuerySet[Ticket], term: str) -> QuerySet[Ticket] | None:
    """A ticket reference typed into the search box finds that ticket."""
    pk = ticket_id_from_reference(term.strip())
    return None if pk is None else queryset.filter(pk=pk)
