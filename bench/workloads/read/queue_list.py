"""The queue workloads: an agent's queue as the console filters it, all of
an agent's queues, and a deep page of every ticket by offset and by cursor;
each floor reads the same rows with the list's columns and joins."""

from base64 import b64encode
from typing import Any
from urllib.parse import urlencode

from accounts.models import User
from bench.measure import Result
from bench.staff import AGENT_PREFIX, SUPERVISOR_PREFIX
from bench.workloads import Context, workload
from bench.workloads.read.measuring import (
    MissingData,
    api_client,
    generated_staff,
    get_call,
    measure_read,
    raw_call,
)
from tickets.models import Queue, Ticket

PAGE = 50
DEEP_PAGE = 2000


# The list's columns and joins, as TicketListSerializer renders them.
LIST_ROWS = """
SELECT t.id, t.subject, t.kind, t.severity, t.channel, t.status, t.is_repeat_failure,
       t.acknowledge_breached_at, t.apologize_breached_at, t.created_at, t.updated_at,
       c.id, c.name, c.email, c.time_zone, q.slug,
       u.id, u.username, u.first_name, u.last_name
FROM tickets_ticket t
JOIN accounts_customer c ON c.id = t.customer_id
LEFT JOIN tickets_queue q ON q.id = t.queue_id
LEFT JOIN accounts_user u ON u.id = t.assignee_id
"""
LIST_SQL = (
    LIST_ROWS
    + """WHERE {where}
ORDER BY t.created_at DESC, t.id DESC
LIMIT 50 OFFSET %(offset)s
"""
)
AGENT_SEES = (
    "(t.assignee_id = %(user)s OR t.queue_id IN "
    "(SELECT queue_id FROM tickets_queue_members WHERE user_id = %(user)s))"
)


QUEUE_TARGETS: dict[str, float] = {"p95_ms": 30, "queries": 5}


def _agent_queue(agent: User) -> Queue:
    queue = Queue.objects.filter(members=agent).order_by("slug").first()
    if queue is None:
        raise MissingData(f"{agent.username} is in no queue.")
    return queue


@workload("queue_list")
def queue_list(context: Context) -> Result:
    """An agent's queue filtered as the console filters it: one of their
    queues, new tickets (waiting for an acknowledgement), newest first."""
    agent = generated_staff(AGENT_PREFIX)
    queue = _agent_queue(agent)
    params = {"status": "new", "queue": queue.slug}
    floor_where = f"{AGENT_SEES} AND t.status = 'new' AND q.slug = %(slug)s"
    return measure_read(
        "queue_list",
        "API list, 50 rows: one queue's new tickets, newest first, as an agent",
        context,
        get_call(api_client(agent), "/api/v1/tickets/", params),
        raw_call(
            LIST_SQL.format(where=floor_where), {"user": agent.pk, "slug": queue.slug, "offset": 0}
        ),
        QUEUE_TARGETS,
    )


@workload("queue_list_my_queues")
def queue_list_my_queues(context: Context) -> Result:
    """The agent's default view: every ticket of their queues or assigned to them."""
    agent = generated_staff(AGENT_PREFIX)
    return measure_read(
        "queue_list_my_queues",
        "API list, 50 rows: all of an agent's queues and assignments, newest first",
        context,
        get_call(api_client(agent), "/api/v1/tickets/"),
        raw_call(LIST_SQL.format(where=AGENT_SEES), {"user": agent.pk, "offset": 0}),
        QUEUE_TARGETS,
    )


@workload("queue_list_deep")
def queue_list_deep(context: Context) -> Result:
    """Page 2000 (or the last page, on smaller data) of every ticket, as a
    supervisor. The floor is the same page by keyset (``(created_at, id) <``
    the previous page's last row): what a cursor costs wherever it points."""
    supervisor = generated_staff(SUPERVISOR_PREFIX)
    total = Ticket.objects.count()
    page = max(1, min(DEEP_PAGE, total // PAGE))
    offset = (page - 1) * PAGE
    before = Ticket.objects.order_by("-created_at", "-id").values_list("created_at", "id")
    keyset_where = "TRUE"
    params: dict[str, Any] = {"offset": 0}
    if offset:
        last_at, last_id = before[offset - 1]
        keyset_where = "(t.created_at, t.id) < (%(at)s, %(id)s)"
        params.update(at=last_at, id=last_id)
    return measure_read(
        "queue_list_deep",
        f"API list page {page} of every ticket (offset {offset:,}), as a supervisor",
        context,
        get_call(api_client(supervisor), "/api/v1/tickets/", {"page": page}),
        raw_call(LIST_SQL.format(where=keyset_where), params),
        QUEUE_TARGETS,
        [f"page {page}; the floor reads the same rows by keyset, not by offset"],
    )


@workload("queue_list_deep_cursor")
def queue_list_deep_cursor(context: Context) -> Result:
    """The same deep page by cursor (``?pagination=cursor``): the cursor a
    client following ``next`` would hold there."""
    supervisor = generated_staff(SUPERVISOR_PREFIX)
    total = Ticket.objects.count()
    page = max(1, min(DEEP_PAGE, total // PAGE))
    offset = (page - 1) * PAGE
    params: dict[str, Any] = {"offset": 0}
    query = {"pagination": "cursor"}
    keyset_where = "TRUE"
    if offset:
        before = Ticket.objects.order_by("-created_at", "-id").values_list("created_at", "id")
        last_at, last_id = before[offset - 1]
        # DRF's cursor: the position (the ordering's first field), base64-encoded.
        query["cursor"] = b64encode(urlencode({"p": str(last_at)}).encode()).decode()
        keyset_where = "(t.created_at, t.id) < (%(at)s, %(id)s)"
        params.update(at=last_at, id=last_id)
    return measure_read(
        "queue_list_deep_cursor",
        f"API list, cursor page at row {offset:,} of every ticket, as a supervisor",
        context,
        get_call(api_client(supervisor), "/api/v1/tickets/", query),
        raw_call(LIST_SQL.format(where=keyset_where), params),
        QUEUE_TARGETS,
    )
