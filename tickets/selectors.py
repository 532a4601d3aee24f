"""Reads of tickets shared by the API, the console and the services, each a
fixed number of queries whatever the number of tickets, messages or events:
the tickets a person sees, their details, the saved replies offered on one,
who is told of what happens on it, and its timeliness targets."""

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from django.contrib.postgres.expressions import ArraySubquery
from django.contrib.postgres.search import SearchQuery, SearchRank
from django.db import connection
from django.db.models import (
    Exists,
    F,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
)
from django.utils.translation import gettext

from accounts.models import User
from accounts.roles import Role
from core.compiled import CompiledQuery
from core.dates import customer_datetime, zone_name
from core.inline import inline
from core.languages import speaking
from core.lookups import AnyOf
from tickets.emails import staff_name
from tickets.models import (
    Attachment,
    Commitment,
    Message,
    Notification,
    NotificationKind,
    NotificationPreference,
    Queue,
    SavedReply,
    Severity,
    SeverityTarget,
    Ticket,
    TicketEvent,
    TicketSearch,
)
from tickets.models.search import SEARCH_CONFIG
from tickets.models.ticket import VIEW_ALL, ticket_id_from_search

ORDERINGS = {
    "created": ("created_at", "id"),
    "-created": ("-created_at", "-id"),
    "updated": ("updated_at", "id"),
    "-updated": ("-updated_at", "-id"),
}
# Ordering of search results only: the best matches first.
RELEVANCE = "relevance"


# Ids PostgreSQL's bigint holds: past them a ticket cannot exist.
LARGEST_ID = 2**63 - 1


def sees_every_ticket(user: User) -> bool:
    """Supervisors and admins: all that ``tickets_visible_to`` decides by,
    besides the user's id."""
    return user.has_perm(VIEW_ALL)


def viewer(user_id: int, *, sees_all: bool) -> User:
    """A stand-in for the user of id ``user_id``, to build a query of what
    they see once for every user like them (``core.compiled``): what they
    see depends only on their id and ``sees_every_ticket``."""
    stand_in = User(pk=user_id, is_active=True)
    stand_in._perm_cache = {VIEW_ALL} if sees_all else set()  # type: ignore[attr-defined]
    return stand_in


def tickets_visible_to(user: User, *, for_lists: bool = False) -> QuerySet[Ticket]:
    """Supervisors and admins see every ticket; an agent sees the tickets of
    their queues and those assigned to them.

    ``for_lists``: the agent's queues are read first (one small query) and
    written into the SQL as values, so PostgreSQL knows how many tickets
    they hold and counts a long list through the queue and assignee indexes;
    from a subquery, even one computed once, it guesses, and reads every
    ticket to count 40,000 of 200,000. Lookups of one ticket need no count
    and save the query."""
    tickets = Ticket.objects.all()
    if sees_every_ticket(user):
        return tickets
    member_of = Queue.members.through.objects.filter(user_id=user.pk).values("queue_id")
    if for_lists:
        queue_ids = [row["queue_id"] for row in member_of]
        return tickets.filter(Q(assignee=user) | Q(queue_id__in=queue_ids))
    if connection.vendor == "postgresql":
        # queue_id = ANY(ARRAY(...)) is computed once, before the scan, so the
        # planner can combine the queue and assignee indexes (a BitmapOr) to
        # count an agent's tickets; "IN (subquery)" under an OR tests every row.
        in_queues = Q(AnyOf(F("queue_id"), ArraySubquery(member_of)))
    else:
        in_queues = Q(queue_id__in=member_of)
    return tickets.filter(Q(assignee=user) | in_queues)


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
    tickets = tickets_visible_to(user, for_lists=True).select_related(
        "customer", "queue", "assignee"
    )
    exact = {
        "status": filters.status,
        "kind": filters.kind,
        "severity": filters.severity,
        # The queue's id first (one InitPlan), so the (queue, status, created)
        # index applies; a join on the slug could not use it.
        "queue_id": (
            Subquery(Queue.objects.filter(slug=filters.queue).values("pk")[:1])
            if filters.queue is not None
            else None
        ),
        "assignee_id": filters.assignee,
        "customer_id": filters.customer,
    }
    tickets = tickets.filter(**{k: v for k, v in exact.items() if v is not None})
    if filters.unassigned:
        tickets = tickets.filter(assignee=None)
    if filters.search:
        tickets = tickets.filter(_search(filters.search))
    if filters.ordering == RELEVANCE:
        return _by_relevance(tickets, filters.search)
    return tickets.order_by(*ORDERINGS[filters.ordering])


def _by_relevance(tickets: QuerySet[Ticket], text: str | None) -> QuerySet[Ticket]:
    """Best matches first (``ts_rank``: how often and how near the words
    are, subject words counting more), newest first among equals. Ranking
    reads every match's document, so a word found in most tickets costs far
    more than the date order, which stops at the first page. SQLite has no
    ranking: newest first."""
    if not text or connection.vendor != "postgresql":
        return tickets.order_by(*ORDERINGS["-created"])
    rank = Subquery(
        TicketSearch.objects.filter(ticket=OuterRef("pk"))
        .annotate(rank=SearchRank(F("document"), search_query(text)))
        .values("rank")
    )
    return tickets.annotate(rank=rank).order_by("-rank", *ORDERINGS["-created"])


def _search(text: str) -> Q:
    """Tickets whose subject or any message (notes included) matches ``text``,
    or the ticket a reference in ``text`` names (HD-000123, or 123 alone).

    On PostgreSQL, full-text search on each ticket's one document
    (``TicketSearch``, its own table: migration tickets/0018): words match
    whatever their form ("parcels" finds "parcel"), in any order, with
    web-search syntax ("-refund", "\"exact phrase\"", "or"). One EXISTS,
    which PostgreSQL runs as a join and so picks by how common the words
    are: for a rare word, the GIN index, then the few matches' tickets by id,
    sorted; for a word in most tickets, the list's own (created_at, id)
    index, probing each ticket's document by its key until the page is
    full. The reference is an alternative inside the EXISTS (every ticket
    has its document row), not an OR around it: PostgreSQL turns no EXISTS
    under an OR into a join, and would test the tickets one by one.
    Elsewhere (SQLite, the local demo), a case-insensitive substring match."""
    reference = ticket_id_from_search(text)
    if connection.vendor != "postgresql":
        matches = Q(subject__icontains=text) | Q(
            Exists(Message.objects.filter(ticket_id=OuterRef("pk"), body__icontains=text))
        )
        return matches | Q(pk=reference) if reference is not None else matches
    found = Q(document=search_query(text))
    if reference is not None:
        found |= Q(ticket_id=reference)
    return Q(Exists(TicketSearch.objects.filter(found, ticket=OuterRef("pk"))))


def search_query(text: str) -> SearchQuery:
    return SearchQuery(text, search_type="websearch", config=SEARCH_CONFIG)


def with_details(tickets: QuerySet[Ticket]) -> QuerySet[Ticket]:
    """What the detail page shows: commitments and the history (recovery
    reads its part on top: ``recovery.selectors.with_recovery``). The
    commitments ride in the ticket's query (``core.inline``): a handful of
    rows, not worth a query of their own."""
    return inline(
        tickets.select_related("customer", "queue", "assignee", "repeat_of").prefetch_related(
            Prefetch("events", queryset=TicketEvent.objects.select_related("actor"))
        ),
        commitments=Commitment.objects.order_by("created_at", "id"),
    )


def queue_named_by(slug: str) -> Queue | None:
    """The queue a setting names by its slug (new tickets from email, from
    the contact form); None when it names none, or one that does not exist."""
    return Queue.objects.filter(slug=slug).first() if slug else None


def ticket_detail(*, user: User) -> QuerySet[Ticket]:
    return with_details(tickets_visible_to(user))


def ticket_messages(*, ticket: Ticket | int) -> QuerySet[Message]:
    """The conversation, oldest first, each message with its author and its
    attachments (in the message's own row: most have none)."""
    ticket_id = ticket if isinstance(ticket, int) else ticket.pk
    return inline(
        Message.objects.filter(ticket_id=ticket_id)
        .select_related("author")
        .order_by("created_at", "id"),
        attachments=Attachment.objects.order_by("id"),
    )


def notifications_of(user: User, *, unread: bool = False) -> QuerySet[Notification]:
    """The user's inbox, newest first, with each notification's ticket."""
    inbox = Notification.objects.filter(recipient=user, in_app=True).select_related("ticket")
    return inbox.filter(read_at=None) if unread else inbox


def unread_notifications_of(user: User | OuterRef) -> QuerySet[Notification]:
    """What the user has not read yet in their inbox (``user`` may be an
    ``OuterRef`` to the user row of an outer query)."""
    return Notification.objects.filter(recipient=user, in_app=True, read_at=None)


# --- saved replies offered on a ticket, filled for it ----------------------------

# What a saved reply may say in braces, and what each becomes for a ticket.
PLACEHOLDERS = {
    "customer_first_name": "the customer's first name",
    "reference": "the ticket's reference (HD-000123)",
    "agent_name": "your name, as the customer sees it",
    "promise_due": "the open promise's due time, in the customer's zone and language",
}
PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def saved_replies_for(*, ticket: Ticket, step: str | None = None) -> QuerySet[SavedReply]:
    """The active saved replies offered on ``ticket`` (its queue's and every
    queue's), of one step or all."""
    return _offered(None, queue_id=ticket.queue_id, step=step or None)


def _offered(shape: None, *, queue_id: int | None, step: str | None) -> QuerySet[SavedReply]:
    everyones = Q(queue__isnull=True)
    offered = SavedReply.objects.filter(active=True).filter(
        everyones | Q(queue_id=queue_id) if queue_id is not None else everyones
    )
    return offered.filter(step=step) if step is not None else offered


# What ``saved_replies_for`` reads, compiled once a process for each shape:
# every ticket page offers them.
_OFFERED = CompiledQuery(build=_offered)


@dataclass(frozen=True)
class FilledReply:
    reply: SavedReply
    text: str


def promise_due(ticket: Ticket) -> str:
    """The open promise's due time as the customer reads it (one query)."""
    customer = ticket.customer
    promise = Commitment.objects.filter(ticket=ticket, fulfilled_at=None).first()
    if promise is None:
        return "[no promise yet]"
    with speaking(customer.locale):
        return gettext("%(when)s, %(zone)s") % {
            "when": customer_datetime(promise.due_at, customer.zone),
            "zone": zone_name(customer.zone),
        }


def fill(reply: SavedReply, *, ticket: Ticket, agent: User, due: str | None = None) -> str:
    """The reply's text for ``ticket``, written by ``agent``: each placeholder
    replaced, in the customer's language and zone. ``due``: the promise's due
    time when the caller read it already (``promise_due``); else it is read
    here when the text asks for it."""
    values = {
        "customer_first_name": (ticket.customer.name or "").split(" ")[0],
        "reference": ticket.reference,
        "agent_name": staff_name(agent),
    }
    if "{promise_due}" in reply.body:
        values["promise_due"] = due if due is not None else promise_due(ticket)
    return PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), reply.body)


def filled_replies(*, ticket: Ticket, agent: User, step: str | None = None) -> list[FilledReply]:
    replies = _OFFERED.rows(None, queue_id=ticket.queue_id, step=step or None)
    due = promise_due(ticket) if any("{promise_due}" in r.body for r in replies) else None
    return [
        FilledReply(reply, fill(reply, ticket=ticket, agent=agent, due=due)) for reply in replies
    ]


# --- who is told of what happens on a ticket, and how --------------------------

# (in the inbox, by email) for a kind nobody chose for yet. A reply on an
# open ticket comes often and is in the queue anyway: the inbox only.
DEFAULT_CHANNELS: dict[str, tuple[bool, bool]] = {
    kind: (True, kind != NotificationKind.CUSTOMER_REPLIED) for kind in NotificationKind.values
}


def channels_for(user_ids: Iterable[int], kind: str) -> dict[int, tuple[bool, bool]]:
    """How each person wants ``kind``: (in the inbox, by email). One query."""
    ids = list(user_ids)
    chosen = {
        user_id: (in_app, email)
        for user_id, in_app, email in NotificationPreference.objects.filter(
            user_id__in=ids, kind=kind
        ).values_list("user_id", "in_app", "email")
    }
    return {pk: chosen.get(pk, DEFAULT_CHANNELS[kind]) for pk in ids}


def wants_email(user_ids: Iterable[int], kind: str) -> set[int]:
    """Those among ``user_ids`` who want ``kind`` by email (an alert's email
    honours the same choice as the notification beside it)."""
    return {pk for pk, (_, email) in channels_for(user_ids, kind).items() if email}


def supervisors() -> list[User]:
    return list(User.objects.filter(is_active=True, groups__name=Role.SUPERVISOR).distinct())


def holders(ticket: Ticket) -> list[User]:
    """Who answers for a ticket: its assignee, or the supervisors when nobody holds it."""
    return [ticket.assignee] if ticket.assignee else supervisors()


def preferences_of(user: User) -> dict[str, tuple[bool, bool]]:
    chosen = {
        kind: (in_app, email)
        for kind, in_app, email in NotificationPreference.objects.filter(user=user).values_list(
            "kind", "in_app", "email"
        )
    }
    return {kind: chosen.get(kind, DEFAULT_CHANNELS[kind]) for kind in NotificationKind.values}


# --- timeliness targets ----------------------------------------------------------

# Used where an admin deleted a severity's row; the migration seeds the same.
DEFAULT_TARGETS = {
    Severity.CRITICAL: (timedelta(minutes=15), timedelta(hours=1)),
    Severity.MAJOR: (timedelta(hours=1), timedelta(hours=4)),
    Severity.MINOR: (timedelta(hours=4), timedelta(hours=24)),
}


@dataclass(frozen=True)
class Target:
    acknowledge_within: timedelta
    apologize_within: timedelta


def targets_by_severity() -> dict[str, Target]:
    targets = {s: Target(*DEFAULT_TARGETS[Severity(s)]) for s in Severity.values}
    for row in SeverityTarget.objects.all():
        targets[row.severity] = Target(row.acknowledge_within, row.apologize_within)
    return targets
