"""Reads for the console's pages, each a fixed number of queries."""

from datetime import datetime
from typing import Any

from django.db.models import Count, Exists, JSONField, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.functions import JSONObject

from accounts.models import Customer, User
from core import clock
from core.compiled import CompiledQuery
from core.inline import inline
from recovery.models import (
    Feedback,
    FollowUp,
    FollowUpPlan,
    FollowUpPlanStep,
    ProcessFix,
    Restitution,
)
from recovery.selectors import with_recovery
from recovery.trust import LOOK_BACK, customer_trust_annotations
from tickets.models import Commitment, Kind, Message, Queue, Status, Ticket
from tickets.selectors import (
    LARGEST_ID,
    sees_every_ticket,
    ticket_detail,
    ticket_messages,
    tickets_visible_to,
    unread_notifications_of,
    viewer,
)


def ticket_page(*, user: User, now: datetime | None = None) -> QuerySet[Ticket]:
    """The ticket page: the API's detail (commitments, history, restitutions,
    the customer's trust) plus the follow-up schedule, the customer's ratings,
    when they last opened their case page, and the latest process fix of this
    ticket or the one it repeats (for a repeat failure's guidance), and
    whether ``user`` has unread notifications about it. The trust as of
    ``now`` (the clock's by default)."""
    fixes = ProcessFix.objects.filter(
        Q(tickets=OuterRef("pk")) | Q(tickets=OuterRef("repeat_of_id"))
    ).order_by("-created_at", "-id")
    return inline(
        with_recovery(ticket_detail(user=user), now=now)
        .annotate(
            latest_process_fix=Subquery(
                fixes.values(fix=JSONObject(title="title", status="status"))[:1],
                output_field=JSONField(),
            ),
            unread_here=Exists(unread_notifications_of(user).filter(ticket=OuterRef("pk"))),
        )
        .select_related("case_visit"),
        followups=FollowUp.objects.order_by("due_at", "id"),
        feedback=Feedback.objects.order_by("created_at", "id"),
    )


def _ticket_page_query(
    sees_all: bool, *, user_id: int, ticket_id: int, now: datetime
) -> QuerySet[Ticket]:
    return ticket_page(user=viewer(user_id, sees_all=sees_all), now=now).filter(pk=ticket_id)


# Every ticket page reads it, and building and compiling it cost more CPU
# than running it: compiled once a process for each kind of viewer, run
# with the viewer's id, the ticket's and the moment (``core.compiled``).
_TICKET_PAGE = CompiledQuery(build=_ticket_page_query, before={"now": LOOK_BACK})


def ticket_page_of(*, user: User, ticket_id: int) -> Ticket | None:
    """The ticket page's ticket (``ticket_page``), or None when ``user``
    may not see it or there is none."""
    if not 0 < ticket_id <= LARGEST_ID:
        return None
    rows = _TICKET_PAGE.rows(
        sees_every_ticket(user), user_id=user.pk, ticket_id=ticket_id, now=clock.now()
    )
    return rows[0] if rows else None


def _conversation_query(latest: int | None, *, ticket_id: int) -> QuerySet[Message]:
    messages = ticket_messages(ticket=ticket_id)
    return messages if latest is None else messages.order_by("-created_at", "-id")[:latest]


_CONVERSATION = CompiledQuery(build=_conversation_query)


def conversation_of(*, ticket: Ticket, latest: int | None = None) -> list[Message]:
    """The ticket's messages with their authors and files: all of them,
    oldest first, or the ``latest``, newest first."""
    return _CONVERSATION.rows(latest, ticket_id=ticket.pk)


# --- customers -------------------------------------------------------------------


def customers_search(*, text: str = "") -> QuerySet[Customer]:
    """The customers list: by name or email, with how many tickets each has.
    Customers are shared by every queue, so every staff role sees them all."""
    customers = Customer.objects.annotate(ticket_count=Count("tickets")).order_by("name", "id")
    text = text.replace("\x00", "").strip()  # PostgreSQL text cannot hold NUL
    if text:
        customers = customers.filter(Q(name__icontains=text) | Q(email__icontains=text))
    return customers


def customer_overview(*, customer_id: int) -> Customer:
    """One customer with what the page says about the relationship as a whole:
    in a rebuilding period now, opted out of follow-ups, tickets in all.
    These facts are about the customer, not a ticket, so they count every
    ticket, including those the viewer may not open."""
    return (
        Customer.objects.select_related("followup_opt_out")
        .annotate(
            **customer_trust_annotations(),
            in_rebuilding=Exists(
                Ticket.objects.filter(
                    customer_id=OuterRef("pk"), kind=Kind.MISHAP, status=Status.REBUILDING
                )
            ),
            ticket_count=Count("tickets"),
        )
        .get(pk=customer_id)
    )


def customer_tickets(*, user: User, customer: Customer) -> QuerySet[Ticket]:
    """The customer's tickets that ``user`` may see, newest first."""
    return (
        tickets_visible_to(user)
        .filter(customer=customer)
        .select_related("queue", "assignee")
        .order_by("-created_at", "-id")
    )


def customer_commitments(*, tickets: QuerySet[Ticket]) -> QuerySet[Commitment]:
    return Commitment.objects.filter(ticket__in=tickets.values("pk")).order_by("created_at", "id")


def customer_restitutions(*, tickets: QuerySet[Ticket]) -> QuerySet[Restitution]:
    return (
        Restitution.objects.filter(ticket__in=tickets.values("pk"))
        .select_related("ticket")
        .order_by("-created_at", "-id")
    )


def customer_followups(*, tickets: QuerySet[Ticket]) -> QuerySet[FollowUp]:
    return (
        FollowUp.objects.filter(ticket__in=tickets.values("pk"))
        .select_related("ticket")
        .order_by("-due_at", "-id")
    )


def customer_ratings(*, tickets: QuerySet[Ticket]) -> QuerySet[Feedback]:
    """Oldest first: the page draws them over time."""
    return (
        Feedback.objects.filter(ticket__in=tickets.values("pk"))
        .select_related("ticket")
        .order_by("created_at", "id")
    )


# --- process fixes and follow-up plans ----------------------------------------------


def process_fix_list(*, status: str | None = None) -> QuerySet[ProcessFix]:
    fixes = ProcessFix.objects.select_related("owner", "created_by").prefetch_related(
        Prefetch("tickets", queryset=Ticket.objects.order_by("pk"))
    )
    if status:
        fixes = fixes.filter(status=status)
    return fixes.order_by("-created_at", "-id")


def followup_plans() -> dict[str, FollowUpPlan]:
    """The saved plans by severity, with their steps and who changed them last."""
    plans = FollowUpPlan.objects.select_related("updated_by").prefetch_related(
        Prefetch("steps", queryset=FollowUpPlanStep.objects.order_by("offset_days", "id"))
    )
    return {plan.severity: plan for plan in plans}


def queues_for_filing(user: User, *, also: int | None = None) -> QuerySet[Queue]:
    """The queues a user may file tickets into: their own, or all for
    supervisors; and the queue ``also`` (a ticket's own), whoever they are.

    By ids, never "member of, or holding this ticket": that joins every queue
    to all its tickets before DISTINCT, half a second at 200,000 tickets."""
    return _queues_for_filing(sees_every_ticket(user), user_id=user.pk, also=also)


def _queues_for_filing(sees_all: bool, *, user_id: int, also: int | None) -> QuerySet[Queue]:
    queues = Queue.objects.order_by("name")
    if sees_all:
        return queues
    own = Q(pk__in=Queue.members.through.objects.filter(user_id=user_id).values("queue_id"))
    return queues.filter(own | Q(pk=also) if also is not None else own)


def staff_to_assign(*, also: int | None = None) -> QuerySet[User]:
    """Whom a ticket may be given to: the active staff, and the user ``also``
    (its own assignee, even one who left), by username."""
    staff = Q(is_active=True, is_staff=True)
    return User.objects.filter(staff | Q(pk=also) if also is not None else staff).order_by(
        "username"
    )


# The ticket page's menus, read on every view of it: compiled once a process
# for each shape (does the viewer see every queue, has the ticket an
# assignee, a queue), run with the ids. Rows to show, by name only.
def _queue_menu(sees_all: bool, *, user_id: int, also: int | None) -> QuerySet[Queue]:
    return _queues_for_filing(sees_all, user_id=user_id, also=also).only("pk", "name")


def _staff_menu(shape: None, *, also: int | None) -> QuerySet[User]:
    return staff_to_assign(also=also).only("pk", "username")


_QUEUE_MENU = CompiledQuery(build=_queue_menu)
_STAFF_MENU = CompiledQuery(build=_staff_menu)


def ticket_menus(*, user: User, ticket: Ticket) -> dict[str, list[Any]]:
    """The rows of the ticket page's menus, as ``queues_for_filing`` and
    ``staff_to_assign`` give them for the ticket, each read by its name."""
    queues = _QUEUE_MENU.rows(sees_every_ticket(user), user_id=user.pk, also=ticket.queue_id)
    staff = _STAFF_MENU.rows(None, also=ticket.assignee_id)
    return {"assignee": staff, "queue": queues}
