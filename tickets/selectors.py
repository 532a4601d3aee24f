"""Reads of tickets shared by the API and the console, each a fixed number of
queries whatever the number of tickets, messages or events."""

from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet

from accounts.models import User
from tickets import hooks
from tickets.models import Commitment, Message, Queue, Ticket, TicketEvent
from tickets.models.ticket import ticket_id_from_reference
from tickets.services.access import VIEW_ALL

ORDERINGS = {
    "created": ("created_at", "id"),
    "-created": ("-created_at", "-id"),
    "updated": ("updated_at", "id"),
    "-updated": ("-updated_at", "-id"),
}


def tickets_visible_to(user: User) -> QuerySet[Ticket]:
    """Supervisors and admins see every ticket; an agent sees the tickets of
    their queues and those assigned to them."""
    tickets = Ticket.objects.all()
    if user.has_perm(VIEW_ALL):
        return tickets
    return tickets.filter(
        Q(assignee=user) | Q(queue_id__in=Queue.objects.filter(members=user).values("pk"))
    )


@dataclass(frozen=True)
class TicketFilters:
    status: str | None = None
    kind: str | None = None
    severity: str | None = None
    queue: str | None = None  # slug
    assignee: int | None = None
    unassigned: bool = False
    customer: int | None = None
    search: str | None = None
    ordering: str = "-created"


def ticket_list(*, user: User, filters: TicketFilters) -> QuerySet[Ticket]:
    tickets = tickets_visible_to(user).select_related("customer", "queue", "assignee")
    exact = {
        "status": filters.status,
        "kind": filters.kind,
        "severity": filters.severity,
        "queue__slug": filters.queue,
        "assignee_id": filters.assignee,
        "customer_id": filters.customer,
    }
    tickets = tickets.filter(**{k: v for k, v in exact.items() if v is not None})
    if filters.unassigned:
        tickets = tickets.filter(assignee=None)
    if filters.search:
        tickets = tickets.filter(_search(filters.search))
    return tickets.order_by(*ORDERINGS[filters.ordering])


def _search(text: str) -> Q:
    matches = Q(subject__icontains=text) | Q(
        Exists(Message.objects.filter(ticket_id=OuterRef("pk"), body__icontains=text))
    )
    reference = ticket_id_from_reference(text)
    if reference is not None:
        matches |= Q(pk=reference)
    return matches


def with_details(tickets: QuerySet[Ticket]) -> QuerySet[Ticket]:
    """What the detail page shows: commitments and the history."""
    return tickets.select_related("customer", "queue", "assignee", "repeat_of").prefetch_related(
        Prefetch("commitments", queryset=Commitment.objects.order_by("created_at", "id")),
        Prefetch("events", queryset=TicketEvent.objects.select_related("actor")),
        *hooks.detail_prefetches(),
    )


def ticket_detail(*, user: User) -> QuerySet[Ticket]:
    return with_details(tickets_visible_to(user))


def ticket_written(*, ticket_id: int) -> Ticket:
    """A ticket just changed by its caller, with its details. Not limited to
    what the caller sees: one who hands a ticket to a colleague outside their
    queues still gets the result of their own change."""
    return with_details(Ticket.objects.filter(pk=ticket_id)).get()


def ticket_messages(*, ticket: Ticket) -> QuerySet[Message]:
    return (
        Message.objects.filter(ticket=ticket)
        .select_related("author")
        .prefetch_related("attachments")
        .order_by("created_at", "id")
    )
