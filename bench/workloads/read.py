"""Read workloads: the queue list, a ticket with a long conversation, search,
a customer's trust profile.

Each request goes through the whole Django stack in-process, with Django's
test ``Client`` (no network, no web server: what is measured is the desk's
own work, URL routing to rendered bytes). The API is called as an integration
calls it, with a token; the console page with a signed-in agent's session.
Each floor fetches the same rows with raw SQL on the psycopg connection under
Django's, so both sides pay the same round trips to the same database.

They read data made by ``generate_load_data`` (``bench.generate``).
"""

from base64 import b64encode
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.db import connection
from django.db.models import Count, Q
from django.test import Client
from django.test.utils import override_settings
from django.utils import timezone

from accounts.models import Customer, User
from accounts.services import staff_issue_token
from bench.desk import LONG_SUBJECT
from bench.generate import AGENT_PREFIX, SUPERVISOR_PREFIX
from bench.measure import Result, Timing, time_calls
from bench.workloads import Context, workload
from recovery.trust.figures import QUARTER, YEAR
from tickets.models import Kind, Queue, Ticket
from tickets.models.ticket import OPEN_STATUSES, ticket_id_from_reference

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

DETAIL_SQL = """
SELECT t.*, c.name, c.email, c.time_zone, q.slug, u.username, u.first_name, u.last_name,
  (SELECT json_agg(m ORDER BY m.created_at, m.id) FROM tickets_commitment m
    WHERE m.ticket_id = t.id) AS commitments,
  (SELECT json_agg(json_build_object('e', e, 'actor', a.username)
                   ORDER BY e.created_at, e.id)
    FROM tickets_ticketevent e LEFT JOIN accounts_user a ON a.id = e.actor_id
    WHERE e.ticket_id = t.id) AS history,
  (SELECT json_agg(r ORDER BY r.created_at, r.id) FROM recovery_restitution r
    WHERE r.ticket_id = t.id) AS restitutions
  {more}
FROM tickets_ticket t
JOIN accounts_customer c ON c.id = t.customer_id
LEFT JOIN tickets_queue q ON q.id = t.queue_id
LEFT JOIN accounts_user u ON u.id = t.assignee_id
WHERE t.id = %(ticket)s
"""
PAGE_MORE = """,
  (SELECT json_agg(json_build_object('m', m, 'author', a.username) ORDER BY m.created_at, m.id)
    FROM tickets_message m LEFT JOIN accounts_user a ON a.id = m.author_id
    WHERE m.ticket_id = t.id) AS conversation,
  (SELECT json_agg(f ORDER BY f.due_at, f.id) FROM recovery_followup f
    WHERE f.ticket_id = t.id) AS followups,
  (SELECT json_agg(f ORDER BY f.created_at, f.id) FROM recovery_feedback f
    WHERE f.ticket_id = t.id) AS feedback"""
MESSAGES_SQL = """
SELECT m.id, m.public, m.author_kind, m.body, m.body_html, m.step, m.created_at,
       m.delivery_status, a.id, a.username, a.first_name, a.last_name
FROM tickets_message m LEFT JOIN accounts_user a ON a.id = m.author_id
WHERE m.ticket_id = %(ticket)s ORDER BY m.created_at, m.id LIMIT 200
"""
# The first page of a search, as fast as SQL gets it whatever the term: the
# matches' ids up to 2,001 from the GIN index; where there are at most 2,000,
# the newest 50 of them; past that (a word in most tickets), the date index
# walked, each ticket's document probed by its key, until 50 match. The
# same two ways the API's paginator takes, in one statement.
MATCHES = """(s.document @@ websearch_to_tsquery('english', %(q)s) OR s.ticket_id = %(ref)s)"""
SEARCH_SQL = (
    "WITH m AS MATERIALIZED (SELECT s.ticket_id FROM tickets_ticketsearch s WHERE "  # noqa: S608 - constants joined; the search text is a parameter
    + MATCHES
    + " LIMIT 2001)"
    + LIST_ROWS
    + """WHERE t.id IN (
  (SELECT id FROM tickets_ticket
    WHERE (SELECT count(*) FROM m) <= 2000 AND id IN (SELECT ticket_id FROM m)
    ORDER BY created_at DESC, id DESC LIMIT 50)
  UNION ALL
  (SELECT id FROM tickets_ticket
    WHERE (SELECT count(*) FROM m) > 2000 AND EXISTS (
      SELECT FROM tickets_ticketsearch s WHERE s.ticket_id = tickets_ticket.id AND """
    + MATCHES
    + """)
    ORDER BY created_at DESC, id DESC LIMIT 50))
ORDER BY t.created_at DESC, t.id DESC
"""
)


class MissingData(RuntimeError):
    pass


def _staff(prefix: str) -> User:
    user = User.objects.filter(username__startswith=prefix).order_by("username").first()
    if user is None:
        raise MissingData(
            "No generated staff here: run `manage.py generate_load_data` on this database first."
        )
    return user


@contextmanager
def _in_process() -> Iterator[None]:
    # The test client's host name, whatever the deployment allows.
    with override_settings(ALLOWED_HOSTS=[*settings.ALLOWED_HOSTS, "testserver"]):
        yield


def _api_client(user: User) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Token {staff_issue_token(user=user)}")


def _get(client: Client, url: str, params: dict[str, Any] | None = None) -> Callable[[], object]:
    def call() -> object:
        response = client.get(url, params or {})
        if response.status_code != 200:
            raise RuntimeError(f"GET {url} {params} answered {response.status_code}")
        return response.content

    return call


def _raw(sql: str, params: dict[str, Any]) -> Callable[[], object]:
    def call() -> object:
        with connection.cursor() as cursor:
            raw = cursor.cursor  # psycopg's cursor: no Django wrapper on the floor
            raw.execute(sql, params)
            return raw.fetchall()

    return call


def _measure(
    name: str,
    description: str,
    context: Context,
    work: Callable[[], object],
    floor: Callable[[], object],
    targets: dict[str, float],
    notes: list[str] | None = None,
) -> Result:
    with _in_process():
        workload_timing = time_calls(work, repeat=context.repeat, count_queries=True)
    floor_timing = time_calls(floor, repeat=context.repeat)
    notes = list(notes or [])
    if settings.DEBUG:
        notes.append("DEBUG is on: Django logs every query, which slows the workload side.")
    return Result(name, description, workload_timing, floor_timing, notes, targets)


# --- 1. the queue ---------------------------------------------------------------------

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
    agent = _staff(AGENT_PREFIX)
    queue = _agent_queue(agent)
    params = {"status": "new", "queue": queue.slug}
    floor_where = f"{AGENT_SEES} AND t.status = 'new' AND q.slug = %(slug)s"
    return _measure(
        "queue_list",
        "API list, 50 rows: one queue's new tickets, newest first, as an agent",
        context,
        _get(_api_client(agent), "/api/v1/tickets/", params),
        _raw(
            LIST_SQL.format(where=floor_where), {"user": agent.pk, "slug": queue.slug, "offset": 0}
        ),
        QUEUE_TARGETS,
    )


@workload("queue_list_my_queues")
def queue_list_my_queues(context: Context) -> Result:
    """The agent's default view: every ticket of their queues or assigned to them."""
    agent = _staff(AGENT_PREFIX)
    return _measure(
        "queue_list_my_queues",
        "API list, 50 rows: all of an agent's queues and assignments, newest first",
        context,
        _get(_api_client(agent), "/api/v1/tickets/"),
        _raw(LIST_SQL.format(where=AGENT_SEES), {"user": agent.pk, "offset": 0}),
        QUEUE_TARGETS,
    )


@workload("queue_list_deep")
def queue_list_deep(context: Context) -> Result:
    """Page 2000 (or the last page, on smaller data) of every ticket, as a
    supervisor. The floor is the same page by keyset (``(created_at, id) <``
    the previous page's last row): what a cursor costs wherever it points."""
    supervisor = _staff(SUPERVISOR_PREFIX)
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
    return _measure(
        "queue_list_deep",
        f"API list page {page} of every ticket (offset {offset:,}), as a supervisor",
        context,
        _get(_api_client(supervisor), "/api/v1/tickets/", {"page": page}),
        _raw(LIST_SQL.format(where=keyset_where), params),
        QUEUE_TARGETS,
        [f"page {page}; the floor reads the same rows by keyset, not by offset"],
    )


@workload("queue_list_deep_cursor")
def queue_list_deep_cursor(context: Context) -> Result:
    """The same deep page by cursor (``?pagination=cursor``): the cursor a
    client following ``next`` would hold there."""
    supervisor = _staff(SUPERVISOR_PREFIX)
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
    return _measure(
        "queue_list_deep_cursor",
        f"API list, cursor page at row {offset:,} of every ticket, as a supervisor",
        context,
        _get(_api_client(supervisor), "/api/v1/tickets/", query),
        _raw(LIST_SQL.format(where=keyset_where), params),
        QUEUE_TARGETS,
    )


# --- 2. one ticket with a long conversation ------------------------------------------

DETAIL_TARGETS: dict[str, float] = {"p95_ms": 50, "queries": 10}


def _long_ticket() -> Ticket:
    ticket = Ticket.objects.filter(subject=LONG_SUBJECT).order_by("-id").first()
    if ticket is None or ticket.assignee is None:
        raise MissingData(
            "No long conversation here: run `manage.py generate_load_data` on this database."
        )
    return ticket


@workload("ticket_detail_api")
def ticket_detail_api(context: Context) -> Result:
    ticket = _long_ticket()
    count = ticket.messages.count()
    return _measure(
        "ticket_detail_api",
        f"API detail of a ticket with {count} messages (history, commitments, restitutions)",
        context,
        _get(_api_client(ticket.assignee), f"/api/v1/tickets/{ticket.pk}/"),  # type: ignore[arg-type]
        _raw(DETAIL_SQL.format(more=""), {"ticket": ticket.pk}),
        DETAIL_TARGETS,
    )


@workload("ticket_messages_api")
def ticket_messages_api(context: Context) -> Result:
    ticket = _long_ticket()
    return _measure(
        "ticket_messages_api",
        "API conversation of the same ticket, first page of 200 messages",
        context,
        _get(
            _api_client(ticket.assignee),  # type: ignore[arg-type]
            f"/api/v1/tickets/{ticket.pk}/messages/",
            {"page_size": 200},
        ),
        _raw(MESSAGES_SQL, {"ticket": ticket.pk}),
        DETAIL_TARGETS,
    )


@workload("ticket_page_console")
def ticket_page_console(context: Context) -> Result:
    """The console's ticket page: the whole conversation, history, recovery."""
    ticket = _long_ticket()
    count = ticket.messages.count()
    client = Client()
    client.force_login(ticket.assignee)  # type: ignore[arg-type]
    return _measure(
        "ticket_page_console",
        f"Console ticket page, {count} messages, signed-in agent (session)",
        context,
        _get(client, f"/console/tickets/ticket/{ticket.pk}/change/"),
        _raw(DETAIL_SQL.format(more=PAGE_MORE), {"ticket": ticket.pk}),
        DETAIL_TARGETS,
        ["the floor fetches the same rows as JSON in one query; the page also renders HTML"],
    )


# --- 3. search ------------------------------------------------------------------------


# A word in about nine tickets in ten (181,598 of 200,000): a search that
# once read every message to sort its matches by date.
COMMON_WORD = "courier"


def _search_terms() -> list[str]:
    """What agents look for: an order number (rare), a product (one ticket in
    about 25), a reference, and a word found in most tickets."""
    latest = list(Ticket.objects.order_by("-id").values_list("subject", "id")[:200])
    if not latest:
        raise MissingData("No tickets here: run `manage.py generate_load_data` first.")
    words = (word.strip("()?") for subject, _ in latest for word in subject.split())
    rare = next((word for word in words if word.isdigit()), "48213")
    sample = latest[0]
    return [rare, "espresso grinder", f"HD-{sample[1]:06d}", COMMON_WORD]


@workload("search")
def search(context: Context) -> Result:
    """The list's ``?search=``, as a supervisor (every ticket), cycling over
    terms from rare to common; first page of 50 with its count (exact up to
    2,000, estimated past it)."""
    supervisor = _staff(SUPERVISOR_PREFIX)
    terms = _search_terms()
    client = _api_client(supervisor)
    calls = [_get(client, "/api/v1/tickets/", {"search": term}) for term in terms]
    floors = [
        _raw(SEARCH_SQL, {"q": term, "ref": _reference(term)}) for term in terms
    ]  # fmt: skip
    rounds = max(1, context.repeat // len(terms))
    work, floor = Timing(), Timing()
    each: list[str] = []
    with _in_process():
        for term, call in zip(terms, calls, strict=True):
            part = time_calls(call, repeat=rounds, warmup=1, count_queries=True)
            _accumulate(work, part)
            each.append(f"{term} {part.median_ms or 0:.1f}/{part.p95_ms or 0:.1f} ms")
    for call in floors:
        _accumulate(floor, time_calls(call, repeat=rounds, warmup=1))
    notes = [f"median/p95 by term: {', '.join(each)}"]
    return Result(
        "search",
        "API list ?search= (full-text over subjects and messages), as a supervisor",
        work,
        floor,
        notes,
        QUEUE_TARGETS,
    )


def _reference(term: str) -> int:
    return ticket_id_from_reference(term) or 0


def _accumulate(total: Timing, part: Timing) -> None:
    total.samples += part.samples
    total.operations += part.operations
    total.wall += part.wall
    if part.queries is not None:
        total.queries = max(total.queries or 0, part.queries)


# --- 4. a customer's trust profile ----------------------------------------------------

TRUST_TARGETS: dict[str, float] = {"p95_ms": 50, "queries": 3}

# The profile's figures (recovery.trust.figures) for one customer, each
# table read once, as plain columns rather than JSON objects.
TRUST_SQL = """
SELECT c.id, t.*, p.*, lp.due_at, lp.fulfilled_at, money.*, f.*, lf.rating, lf.created_at,
       o.created_at
FROM accounts_customer c
CROSS JOIN LATERAL (
  SELECT count(*) AS tickets,
    count(*) FILTER (WHERE kind = 'mishap') AS mishaps,
    count(*) FILTER (WHERE kind = 'mishap' AND created_at >= %(quarter)s) AS mishaps_90,
    count(*) FILTER (WHERE kind = 'mishap' AND created_at >= %(year)s) AS mishaps_365,
    min(created_at) FILTER (WHERE kind = 'mishap' AND created_at >= %(quarter)s) AS first_90,
    count(*) FILTER (WHERE is_repeat_failure AND created_at >= %(year)s) AS repeats,
    count(*) FILTER (WHERE kind = 'mishap' AND status = ANY(%(open)s)) AS open_mishaps,
    count(*) FILTER (WHERE kind = 'mishap' AND status = 'rebuilding') AS rebuilding,
    min(resolved_at) FILTER (WHERE kind = 'mishap' AND status = 'rebuilding') AS rebuilding_since,
    percentile_cont(0.5) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM acknowledged_at - created_at))
      FILTER (WHERE kind = 'mishap' AND created_at >= %(year)s) AS to_acknowledge,
    percentile_cont(0.5) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM apologized_at - created_at))
      FILTER (WHERE kind = 'mishap' AND created_at >= %(year)s) AS to_apologize
  FROM tickets_ticket WHERE customer_id = c.id) t
CROSS JOIN LATERAL (
  SELECT count(*) AS made,
    count(*) FILTER (WHERE m.fulfilled_at <= m.due_at) AS kept,
    count(*) FILTER (WHERE m.fulfilled_at > m.due_at
                     OR (m.fulfilled_at IS NULL AND m.due_at < %(now)s)) AS late
  FROM tickets_commitment m JOIN tickets_ticket mt ON mt.id = m.ticket_id
  WHERE mt.customer_id = c.id AND m.due_at >= %(year)s) p
LEFT JOIN LATERAL (
  SELECT m.due_at, m.fulfilled_at
  FROM tickets_commitment m JOIN tickets_ticket mt ON mt.id = m.ticket_id
  WHERE mt.customer_id = c.id AND m.due_at >= %(year)s
    AND (m.fulfilled_at IS NOT NULL OR m.due_at <= %(now)s)
  ORDER BY m.due_at DESC, m.id DESC LIMIT 1) lp ON TRUE
CROSS JOIN LATERAL (
  SELECT sum(paid) AS paid, sum(loss) AS loss FROM (
    SELECT sum(r.amount) AS paid, max(r.customer_loss) AS loss
    FROM recovery_restitution r JOIN tickets_ticket rt ON rt.id = r.ticket_id
    WHERE rt.customer_id = c.id AND rt.kind = 'mishap' AND rt.created_at >= %(year)s
      AND r.status IN ('granted', 'approved')
    GROUP BY r.ticket_id HAVING max(r.customer_loss) IS NOT NULL) per_mishap) money
CROSS JOIN LATERAL (
  SELECT count(*) AS ratings, avg(rating) AS average FROM recovery_feedback
  WHERE customer_id = c.id AND created_at >= %(year)s) f
LEFT JOIN LATERAL (
  SELECT rating, created_at FROM recovery_feedback
  WHERE customer_id = c.id AND created_at >= %(year)s
  ORDER BY created_at DESC, id DESC LIMIT 1) lf ON TRUE
LEFT JOIN recovery_followupoptout o ON o.customer_id = c.id
WHERE c.id = %(customer)s
"""


def _longest_history() -> Customer:
    """The customer with the most tickets among those with a mishap (ties:
    the lowest id): the profile that reads the most rows."""
    customer = (
        Customer.objects.annotate(
            ticket_count=Count("tickets"),
            mishap_count=Count("tickets", filter=Q(tickets__kind=Kind.MISHAP)),
        )
        .filter(mishap_count__gt=0)
        .order_by("-ticket_count", "pk")
        .only("pk")
        .first()
    )
    if customer is None:
        raise MissingData("No customer with a mishap: run `manage.py generate_load_data` first.")
    return customer


@workload("customer_trust_api")
def customer_trust_api(context: Context) -> Result:
    """``GET /api/v1/customers/<id>/trust/`` as a supervisor: the level, its
    reasons and every figure, computed in one query. The floor reads the same
    figures from the same tables in one SQL query."""
    supervisor = _staff(SUPERVISOR_PREFIX)
    customer = _longest_history()
    now = timezone.now()
    params = {
        "customer": customer.pk,
        "now": now,
        "year": now - YEAR,
        "quarter": now - QUARTER,
        "open": [str(status) for status in OPEN_STATUSES],
    }
    count = customer.ticket_count  # type: ignore[attr-defined]
    return _measure(
        "customer_trust_api",
        f"API trust profile of the customer with the longest history ({count} tickets)",
        context,
        _get(_api_client(supervisor), f"/api/v1/customers/{customer.pk}/trust/"),
        _raw(TRUST_SQL, params),
        TRUST_TARGETS,
    )
