"""The ticket workloads: one ticket with a long conversation over the API
(its detail, its messages) and as the console's page; each floor reads the
same rows as JSON in one query."""

from django.test import Client

from bench.desk import LONG_SUBJECT
from bench.measure import Result
from bench.workloads import Context, workload
from bench.workloads.read.measuring import MissingData, api_client, get_call, measure_read, raw_call
from tickets.models import Ticket

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
    return measure_read(
        "ticket_detail_api",
        f"API detail of a ticket with {count} messages (history, commitments, restitutions)",
        context,
        get_call(api_client(ticket.assignee), f"/api/v1/tickets/{ticket.pk}/"),  # type: ignore[arg-type]
        raw_call(DETAIL_SQL.format(more=""), {"ticket": ticket.pk}),
        DETAIL_TARGETS,
    )


@workload("ticket_messages_api")
def ticket_messages_api(context: Context) -> Result:
    ticket = _long_ticket()
    return measure_read(
        "ticket_messages_api",
        "API conversation of the same ticket, first page of 200 messages",
        context,
        get_call(
            api_client(ticket.assignee),  # type: ignore[arg-type]
            f"/api/v1/tickets/{ticket.pk}/messages/",
            {"page_size": 200},
        ),
        raw_call(MESSAGES_SQL, {"ticket": ticket.pk}),
        DETAIL_TARGETS,
    )


@workload("ticket_page_console")
def ticket_page_console(context: Context) -> Result:
    """The console's ticket page: the whole conversation, history, recovery."""
    ticket = _long_ticket()
    count = ticket.messages.count()
    client = Client()
    client.force_login(ticket.assignee)  # type: ignore[arg-type]
    return measure_read(
        "ticket_page_console",
        f"Console ticket page, {count} messages, signed-in agent (session)",
        context,
        get_call(client, f"/console/tickets/ticket/{ticket.pk}/change/"),
        raw_call(DETAIL_SQL.format(more=PAGE_MORE), {"ticket": ticket.pk}),
        DETAIL_TARGETS,
        ["the floor fetches the same rows as JSON in one query; the page also renders HTML"],
    )
