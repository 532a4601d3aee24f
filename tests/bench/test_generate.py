"""The load-data generator, at a tiny size: the rows it writes must be rows
the desk could have written, and the pages must work on them."""

from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import Q, Sum
from django.utils import timezone

from accounts.models import Customer, User
from bench.desk import LONG_SUBJECT
from bench.staff import AGENT_PREFIX
from outbox.models import OutboxItem
from recovery.models import FollowUp, Restitution, SpendCounter, SpendEntry
from tests.helpers import client_for, console_client
from tickets.models import Commitment, Message, Queue, Ticket, TicketEvent
from tickets.services import message_create

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the generator writes with PostgreSQL's COPY"
)
TICKETS = 80

# For each status: the step times it must have, and those it must not have yet.
STEPS = ("acknowledged_at", "apologized_at", "committed_at", "resolved_at")
EXPECTED = {
    "new": ((), (*STEPS, "closed_at", "restored_at")),
    "acknowledged": (("acknowledged_at",), (*STEPS[1:], "closed_at", "restored_at")),
    "apologized": (STEPS[:2], (*STEPS[2:], "closed_at", "restored_at")),
    "committed": (STEPS[:3], ("resolved_at", "closed_at", "restored_at")),
    "resolved": (("acknowledged_at", "resolved_at"), ("closed_at", "restored_at")),
    "closed": (("acknowledged_at", "resolved_at", "closed_at"), ("restored_at",)),
    "rebuilding": (STEPS, ("closed_at", "restored_at")),
    "restored": ((*STEPS, "restored_at"), ("closed_at",)),
}


def generate(*extra: str) -> str:
    out = StringIO()
    call_command(
        "generate_load_data",
        "--tickets",
        str(TICKETS),
        "--messages-per-ticket",
        "4",
        "--long-conversation",
        "40",
        *extra,
        stdout=out,
        stderr=StringIO(),
    )
    return out.getvalue()


@pytest.fixture
def desk(db: None) -> None:
    generate()


def test_it_writes_a_desk_of_the_size_asked(desk: None) -> None:
    assert Ticket.objects.count() == TICKETS
    assert Customer.objects.count() == TICKETS // 4
    assert Message.objects.count() >= TICKETS
    assert Ticket.objects.get(subject=LONG_SUBJECT).messages.count() == 40
    assert Queue.objects.filter(members__isnull=False).distinct().count() >= 2
    # Every ticket was created, and its first message is the customer's.
    assert TicketEvent.objects.filter(action="created").count() == TICKETS
    assert Ticket.objects.filter(kind="mishap").exists()


def test_statuses_match_their_timestamps(desk: None) -> None:
    now = timezone.now()
    for ticket in Ticket.objects.all():
        present, absent = EXPECTED[ticket.status]
        for name in present:
            assert getattr(ticket, name) is not None, (ticket.status, name)
        for name in absent:
            assert getattr(ticket, name) is None, (ticket.status, name)
        times = [ticket.created_at] + [getattr(ticket, n) for n in STEPS]
        times = [t for t in times if t is not None]
        assert times == sorted(times)
        assert all(t <= now for t in times)
        if ticket.status in ("apologized", "committed", "rebuilding"):
            assert ticket.kind == "mishap"


def test_promises_follow_ups_and_money_are_consistent(desk: None) -> None:
    # An open promise for each committed mishap, a kept (or late) one after.
    assert not Commitment.objects.filter(
        ticket__status="committed", fulfilled_at__isnull=False
    ).exists()
    assert Commitment.objects.filter(ticket__status="committed").count() == (
        Ticket.objects.filter(status="committed").count()
    )
    assert not Commitment.objects.filter(
        ticket__status__in=["rebuilding", "restored"], fulfilled_at__isnull=True
    ).exists()
    # Nothing left due and unsent for beat to pick up.
    assert not FollowUp.objects.filter(status="scheduled", due_at__lte=timezone.now()).exists()
    assert not FollowUp.objects.exclude(ticket__status__in=["rebuilding", "restored"]).exists()
    # The ledger nets to what is in force, and the ticket counters agree with it.
    for restitution in Restitution.objects.all():
        net = SpendEntry.objects.filter(restitution=restitution).aggregate(s=Sum("amount"))["s"]
        assert net == (restitution.amount if restitution.is_in_force else Decimal(0))
    for counter in SpendCounter.objects.filter(scope="ticket"):
        in_force = Restitution.objects.filter(
            ticket_id=counter.subject_id, status__in=["granted", "approved"]
        ).aggregate(s=Sum("amount"))["s"]
        assert counter.spent == (in_force or Decimal(0))
        assert counter.spent <= Decimal("50.00")  # an agent's per-incident limit


def test_public_messages_are_threaded_and_notes_are_not_emailed(desk: None) -> None:
    assert not Message.objects.filter(public=True, email_message_id__isnull=True).exists()
    assert not Message.objects.filter(public=False, email_message_id__isnull=False).exists()
    assert not Message.objects.filter(Q(public=False) & ~Q(delivery_status="not_sent")).exists()


def test_new_rows_continue_after_the_generated_ids(desk: None) -> None:
    # The sequences were moved past the COPY'd ids.
    ticket = Ticket.objects.order_by("-pk").first()
    assert ticket is not None
    event = TicketEvent.objects.create(ticket=ticket, action="noted")
    assert event.pk > TicketEvent.objects.exclude(pk=event.pk).order_by("-pk")[0].pk


def test_the_queue_and_ticket_pages_work_on_it(desk: None) -> None:
    agent = User.objects.filter(username__startswith=AGENT_PREFIX).order_by("username")[0]
    queue = Queue.objects.filter(members=agent).order_by("slug")[0]
    api = client_for(agent)

    listed = api.get("/api/v1/tickets/", {"queue": queue.slug, "page_size": "200"})
    assert listed.status_code == 200
    assert (
        listed.json()["count"]
        == Ticket.objects.filter(Q(queue=queue) | Q(assignee=agent)).filter(queue=queue).count()
    )
    ticket = Ticket.objects.get(subject=LONG_SUBJECT)
    reader = ticket.assignee
    assert reader is not None
    assert client_for(reader).get(f"/api/v1/tickets/{ticket.pk}/").status_code == 200
    console = console_client(reader)
    assert console.get("/console/tickets/ticket/").status_code == 200
    assert console.get(f"/console/tickets/ticket/{ticket.pk}/change/").status_code == 200


def test_a_second_run_refuses_without_reset_and_replaces_with_it(desk: None) -> None:
    with pytest.raises(CommandError, match="--reset"):
        generate()
    assert Ticket.objects.count() == TICKETS

    generate("--reset", "--seed", "9")

    assert Ticket.objects.count() == TICKETS
    assert Customer.objects.count() == TICKETS // 4
    assert TicketEvent.objects.filter(action="created").count() == TICKETS


def reply_to_an_acknowledged_ticket() -> Message:
    ticket = Ticket.objects.filter(status="acknowledged").exclude(assignee=None).first()
    assert ticket is not None
    assert ticket.assignee is not None
    return message_create(ticket=ticket, actor=ticket.assignee, body="Any news?", public=True)


def test_a_reset_empties_the_outbox_with_the_tickets_it_delivers_for(desk: None) -> None:
    reply_to_an_acknowledged_ticket()

    generate("--reset")

    assert not OutboxItem.objects.exists()
    # The emptied tables hand out their ids again: a new reply gets its outbox row.
    reply = reply_to_an_acknowledged_ticket()
    assert OutboxItem.objects.get().source_id == reply.pk


def test_it_needs_postgresql(db: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(connection, "vendor", "sqlite")
    with pytest.raises(CommandError, match="needs PostgreSQL"):
        generate()
    assert not Ticket.objects.exists()


def test_the_progress_line_is_rewritten_in_place(db: None) -> None:
    err = StringIO()
    call_command(
        "generate_load_data", "--tickets", "10", "--messages-per-ticket", "2",
        "--long-conversation", "5", stdout=StringIO(), stderr=err,
    )  # fmt: skip
    assert "\r" in err.getvalue()
    assert "rows/s" in err.getvalue()
    assert "100.0%" in err.getvalue()


def test_it_is_reproducible_by_seed(db: None) -> None:
    generate()
    first = list(Ticket.objects.order_by("pk").values_list("status", "kind", "subject"))
    generate("--reset")
    again = list(Ticket.objects.order_by("pk").values_list("status", "kind", "subject"))
    # The clock moves between runs, so a ticket at a boundary may differ; nearly all match.
    assert sum(a == b for a, b in zip(first, again, strict=True)) >= TICKETS - 2
    assert timedelta(0) <= timezone.now() - Ticket.objects.order_by("created_at")[0].created_at


def test_the_search_index_and_documents_are_there_after_the_load(desk: None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE indexname LIKE '%%search%%' "
            "AND indexname NOT LIKE '%%_pkey'"
        )
        names = {row[0] for row in cursor.fetchall()}
        cursor.execute(
            "SELECT count(*) FROM tickets_ticket t LEFT JOIN tickets_ticketsearch s "
            "ON s.ticket_id = t.id WHERE s.document IS DISTINCT FROM "
            "tickets_search_document(t.subject, (SELECT string_agg(body, ' ' ORDER BY "
            "created_at, id) FROM tickets_message WHERE ticket_id = t.id))"
        )
        wrong = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM tickets_ticketsearch")
        documents = cursor.fetchone()[0]
        cursor.execute("SELECT current_setting('tickets.search_document_later')")
        later = cursor.fetchone()[0]
    assert names == {"tickets_ticketsearch_document"}
    assert wrong == 0
    assert documents == Ticket.objects.count()  # one each, none left over
    assert later == "off"  # messages added from now on are in their ticket's document
