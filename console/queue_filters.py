"""What narrows the console's queue of tickets (the change list itself is
``console.ticket_queue``): the views agents ask for (mine, my queues,
unassigned, breached, awaiting approval) as a filter and as tabs, the filter
by queue, and search by reference."""

from typing import Any

from django.contrib import admin
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import HttpRequest

from accounts.models import User
from recovery.models import ApprovalRequest
from tickets.models import Queue, Ticket
from tickets.models.ticket import OPEN_STATUSES, ticket_id_from_reference, ticket_id_from_search

OPEN = Q(closed_at__isnull=True, restored_at__isnull=True)


WORK = "work"


class QueueViewFilter(admin.SimpleListFilter):
    """The queue's views. With none chosen, "My open work": the open tickets
    assigned to me, then the unassigned open tickets of my queues. "All"
    is a view of its own (``show=all``)."""

    title = "show"
    parameter_name = "show"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [
            (WORK, "My open work"),
            ("mine", "Assigned to me"),
            ("my_queues", "My queues"),
            ("unassigned", "Unassigned"),
            ("breached", "Target missed"),
            ("awaiting_approval", "Awaiting approval"),
            ("all", "All"),
        ]

    def choices(self, changelist: Any) -> Any:
        # Django adds an "All" that drops the parameter; here no parameter
        # is "My open work", and "All" is a lookup like the others.
        for lookup, title in self.lookup_choices:
            yield {
                "selected": (self.value() or WORK) == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request: HttpRequest, queryset: QuerySet[Ticket]) -> QuerySet[Ticket]:
        user = request.user
        my_queues = Queue.objects.filter(members=user.pk)
        match self.value() or WORK:
            case "work":
                return queryset.filter(status__in=OPEN_STATUSES).filter(_work_of(user.pk))
            case "mine":
                return queryset.filter(assignee_id=user.pk)
            case "my_queues":
                return queryset.filter(queue__in=my_queues)
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


def _work_of(user_id: Any) -> Q:
    """Assigned to the user, or unassigned in one of their queues."""
    my_queues = Queue.objects.filter(members=user_id)
    return Q(assignee_id=user_id) | Q(assignee__isnull=True, queue__in=my_queues)


def showing_work(request: HttpRequest) -> bool:
    return request.GET.get(QueueViewFilter.parameter_name, WORK) == WORK


def queue_views(request: HttpRequest) -> list[dict[str, Any]]:
    """The views as tabs: each a fresh start (``?show=...``), the current marked."""
    current = request.GET.get(QueueViewFilter.parameter_name, WORK)
    return [
        {"query": f"?show={lookup}", "label": label, "current": lookup == current}
        for lookup, label in QueueViewFilter.lookups(None, request, None)  # type: ignore[arg-type]
    ]


class QueueFilter(admin.RelatedFieldListFilter):
    """Only the queues the user may see tickets of, not every queue."""

    def field_choices(self, field: Any, request: HttpRequest, model_admin: Any) -> Any:
        user: User = request.user  # type: ignore[assignment]
        queues = Queue.objects.order_by("name")
        if not user.has_perm("tickets.view_all_tickets"):
            queues = queues.filter(members=user)
        return [(q.pk, q.name) for q in queues]


def search_by_reference(
    queryset: QuerySet[Ticket], term: str, found: QuerySet[Ticket]
) -> QuerySet[Ticket]:
    """A whole reference (HD-000123) typed into the search box finds that
    ticket alone; a number alone (123) finds that ticket too, beside what
    the text search ``found`` (an order number in a subject, say)."""
    whole = ticket_id_from_reference(term.strip())
    if whole is not None:
        return queryset.filter(pk=whole)
    pk = ticket_id_from_search(term)
    return found if pk is None else found | queryset.filter(pk=pk)
