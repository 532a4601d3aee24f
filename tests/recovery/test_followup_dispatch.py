"""Follow-ups sent in batches (issue 8, workload 4): the sweep queues a send
task per SEND_BATCH rows, and each task sends its rows over one SMTP
connection, reading them in a fixed number of queries, each mail once."""

import smtplib
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import User
from recovery.models import FollowUp, ProcessFix, Restitution
from recovery.services import followups as service
from recovery.services import process_fix_create, process_fix_set_status, restitution_grant
from recovery.services.followup_emails import (
    DoneFix,
    _context,
    build_followup_email,
    email_contexts,
)
from recovery.services.followups import followups_claim_due, followups_deliver
from recovery.tasks import followup_send_batch_task, followup_send_task
from tests.factories import TicketFactory, advance
from tests.smtp import SmtpSink, free_port
from tickets.models import Commitment, Kind, Ticket

pytestmark = pytest.mark.django_db

QUEUED = FollowUp.Status.QUEUED
SENT = FollowUp.Status.SENT


def rebuilding(zone: str = "Europe/Berlin", **kwargs: Any) -> Ticket:
    ticket = TicketFactory(kind=Kind.MISHAP, **kwargs)
    ticket.customer.time_zone = zone
    ticket.customer.save(update_fields=["time_zone"])
    return advance(ticket, to="rebuilding")


def queued(*tickets: Ticket, per_ticket: int = 3) -> list[int]:
    """The first ``per_ticket`` follow-ups of each ticket, due and swept, in
    ticket order."""
    ids = [
        pk
        for ticket in tickets
        for pk in ticket.followups.order_by("id").values_list("pk", flat=True)[:per_ticket]
    ]
    FollowUp.objects.filter(pk__in=ids).update(due_at=timezone.now() - timedelta(minutes=1))
    assert sorted(followups_claim_due()) == sorted(ids)
    return ids


@pytest.fixture
def connections(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Every SMTP connection opened, by address."""
    opened: list[tuple[str, int]] = []
    real_connect = smtplib.SMTP.connect

    def connect(self: smtplib.SMTP, host: str = "localhost", port: int = 0, **kw: Any) -> Any:
        opened.append((host, port))
        return real_connect(self, host, port, **kw)

    monkeypatch.setattr(smtplib.SMTP, "connect", connect)
    return opened


def message_ids(sink: SmtpSink) -> list[str]:
    return [str(mail["Message-ID"]) for mail in sink.received]


# --- Sending a batch ----------------------------------------------------------------------


def test_a_batch_is_sent_over_one_connection_each_mail_once(
    smtp_sink: SmtpSink, connections: list[tuple[str, int]]
) -> None:
    ids = queued(rebuilding(), rebuilding())

    dispatch = followups_deliver(followup_ids=ids)

    rows = {row.pk: row for row in FollowUp.objects.filter(pk__in=ids)}
    assert dispatch.sent == ids
    assert (dispatch.failed, dispatch.left) == ({}, [])
    assert len(connections) == 1
    assert message_ids(smtp_sink) == [rows[pk].message_id for pk in ids]
    assert {(row.status, row.attempts, row.claimed_at is not None) for row in rows.values()} == {
        (SENT, 1, True)
    }


@pytest.mark.parametrize("size", [2, 6])
def test_a_batch_reads_in_the_same_number_of_queries_whatever_its_size(size: int) -> None:
    tickets = [rebuilding() for _ in range(size // 2)]
    ids = queued(*tickets, per_ticket=2)

    with CaptureQueriesContext(connection) as captured:
        dispatch = followups_deliver(followup_ids=ids)

    assert len(dispatch.sent) == size
    statements = [q["sql"].split()[0] for q in captured.captured_queries]
    # The rows with their tickets and customers, then commitments, restitutions
    # and process fixes; then per mail its claim and its mark-sent.
    assert statements.count("SELECT") == 4
    assert statements.count("UPDATE") == 2 * size
    assert len(statements) == 4 + 2 * size


def test_rows_no_longer_queued_are_skipped(smtp_sink: SmtpSink) -> None:
    sent, cancelled, waiting = queued(rebuilding())
    FollowUp.objects.filter(pk=sent).update(status=SENT, sent_at=timezone.now())
    FollowUp.objects.filter(pk=cancelled).update(status=FollowUp.Status.CANCELLED)

    dispatch = followups_deliver(followup_ids=[sent, cancelled, waiting])

    assert dispatch.sent == [waiting]
    assert message_ids(smtp_sink) == [FollowUp.objects.get(pk=waiting).message_id]
    assert FollowUp.objects.get(pk=cancelled).status == FollowUp.Status.CANCELLED


def test_a_row_claimed_by_another_task_is_left_to_it(smtp_sink: SmtpSink) -> None:
    theirs, mine = queued(rebuilding(), per_ticket=2)
    FollowUp.objects.filter(pk=theirs).update(claimed_at=timezone.now())

    assert followups_deliver(followup_ids=[theirs, mine]).sent == [mine]
    assert FollowUp.objects.get(pk=theirs).status == QUEUED


def test_running_a_batch_task_twice_sends_nothing_twice(smtp_sink: SmtpSink) -> None:
    ids = queued(rebuilding(), rebuilding())

    followup_send_batch_task.apply(args=[ids])
    followup_send_batch_task.apply(args=[ids])

    assert len(smtp_sink.received) == len(ids)
    assert set(FollowUp.objects.filter(pk__in=ids).values_list("attempts", flat=True)) == {1}


def test_a_refused_mail_is_retried_alone_and_the_rest_of_the_batch_is_sent(
    smtp_sink: SmtpSink, connections: list[tuple[str, int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    first, refused, last = tickets = [rebuilding() for _ in range(3)]
    ids = queued(*tickets, per_ticket=1)
    smtp_sink.handler.refuse_recipients = {refused.customer.email}
    retries: list[tuple[Any, dict[str, Any]]] = []
    monkeypatch.setattr(
        followup_send_task, "apply_async", lambda args, **options: retries.append((args, options))
    )

    followup_send_batch_task.apply(args=[ids])

    rows = {row.ticket_id: row for row in FollowUp.objects.filter(pk__in=ids)}
    assert (rows[first.pk].status, rows[last.pk].status) == (SENT, SENT)
    failed = rows[refused.pk]
    assert (failed.status, failed.attempts, failed.claimed_at) == (QUEUED, 1, None)
    assert "554" in failed.last_error
    assert retries == [((failed.pk,), {"countdown": 10})]
    assert message_ids(smtp_sink) == [rows[first.pk].message_id, rows[last.pk].message_id]
    # After the refusal the next mail starts a new session.
    assert len(connections) == 2


def test_an_unreachable_server_costs_no_attempt_and_the_rows_stay_queued(
    settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()  # nobody listens
    ids = queued(rebuilding())

    dispatch = followups_deliver(followup_ids=ids)
    # The task retries the rows (at once here, eagerly), then leaves them to the sweep.
    followup_send_batch_task.apply(args=[ids])

    assert (dispatch.sent, dispatch.failed, dispatch.left) == ([], {}, ids)
    assert dispatch.unreachable
    rows = FollowUp.objects.filter(pk__in=ids)
    assert {(r.status, r.attempts, r.claimed_at) for r in rows} == {(QUEUED, 0, None)}
    assert "left to the sweep" in caplog.text


def test_a_batch_out_of_time_hands_the_rest_to_a_new_task(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ids = queued(rebuilding())
    monkeypatch.setattr(service, "BATCH_TIME_LIMIT", 0.0)
    handed: list[list[int]] = []
    monkeypatch.setattr(followup_send_batch_task, "delay", handed.append)

    followup_send_batch_task.apply(args=[ids])

    # One row a task at least, whatever the time.
    assert FollowUp.objects.get(pk=ids[0]).status == SENT
    assert handed == [ids[1:]]
    assert set(FollowUp.objects.filter(pk__in=ids[1:]).values_list("status", "attempts")) == {
        (QUEUED, 0)
    }


def test_the_night_guard_puts_off_only_the_customers_at_night(smtp_sink: SmtpSink) -> None:
    night = datetime(2030, 7, 1, 1, 0, tzinfo=UTC)  # 03:00 in Berlin, 10:00 in Tokyo
    with time_machine.travel(night, tick=False):
        berlin, tokyo = queued(rebuilding("Europe/Berlin"), rebuilding("Asia/Tokyo"), per_ticket=1)
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(service.settings, "HELPDESK_FOLLOWUP_SEND_ONLY_IN_WINDOW", True)
            dispatch = followups_deliver(followup_ids=[berlin, tokyo])

    assert dispatch.sent == [tokyo]
    waiting = FollowUp.objects.get(pk=berlin)
    local = waiting.due_at.astimezone(ZoneInfo("Europe/Berlin"))
    assert (waiting.status, waiting.attempts, waiting.queued_at) == (
        FollowUp.Status.SCHEDULED,
        0,
        None,
    )
    assert (local.date().isoformat(), 9 <= local.hour < 11) == ("2030-07-01", True)
    assert message_ids(smtp_sink) == [FollowUp.objects.get(pk=tokyo).message_id]


# --- The email, from the batch's reads -------------------------------------------------------


def per_ticket_context(followup: FollowUp) -> dict[str, Any]:
    """What each email said when it read its own ticket's rows, one query each."""
    ticket = followup.ticket
    return _context(
        followup,
        commitment=ticket.commitments.order_by("-created_at").first(),
        restitutions=list(
            ticket.restitutions.filter(
                status__in=[Restitution.Status.GRANTED, Restitution.Status.APPROVED]
            )
        ),
        fixes=[
            DoneFix(fix.failsafe_change, fix.done_at)
            for fix in ticket.process_fixes.filter(status=ProcessFix.Status.DONE)
        ],
    )


def without_boundary(message: Any) -> bytes:
    return bytes(message.as_bytes().replace(message.get_boundary().encode(), b"BOUNDARY"))


def test_the_batch_writes_each_email_as_its_own_tickets_rows_say(supervisor: User) -> None:
    plain, rich, other = (rebuilding() for _ in range(3))
    # A later promise, kept: the one the emails tell (one still open is not told).
    Commitment.objects.create(
        ticket=rich,
        promise="A second, later promise.",
        due_at=timezone.now() + timedelta(days=3),
        created_at=timezone.now() + timedelta(seconds=1),
        fulfilled_at=timezone.now() + timedelta(seconds=2),
    )
    for amount in ("10.00", "5.00"):
        restitution_grant(
            ticket=rich,
            actor=rich.assignee,
            kind="refund",
            amount=Decimal(amount),
            currency="USD",
            reason="The wrong item.",
        )
    for change in ("Pick lists are scanned.", "Two people check each parcel."):
        # Linked to a ticket outside the batch too: it must not leak into it.
        fix = process_fix_create(
            actor=supervisor,
            title=change,
            root_cause="Wrong shelf.",
            failsafe_change=change,
            tickets=[rich, other],
        )
        for status in ("in_progress", "done"):
            process_fix_set_status(fix=fix, actor=supervisor, status=status)
    # Only done fixes are told: one still proposed stays out of every email.
    process_fix_create(
        actor=supervisor,
        title="Not yet",
        root_cause="Wrong shelf.",
        failsafe_change="Shelves get labels.",
        tickets=[rich],
    )
    ids = queued(plain, rich, per_ticket=3)
    followups = list(
        FollowUp.objects.select_related("customer", "ticket__customer").filter(pk__in=ids)
    )

    contexts = email_contexts(followups)

    for followup in followups:
        assert contexts[followup.pk] == per_ticket_context(followup)
    rich_context = contexts[next(f.pk for f in followups if f.ticket_id == rich.pk)]
    assert rich_context["commitment"]["promise"] == "A second, later promise."
    assert [r["amount"] for r in rich_context["restitutions"]] == [
        Decimal("10.00"),
        Decimal("5.00"),
    ]
    assert [f["failsafe_change"] for f in rich_context["process_fixes"]] == [
        "Two people check each parcel.",
        "Pick lists are scanned.",
    ]
    with time_machine.travel(timezone.now(), tick=False):
        for followup in followups:
            batch = build_followup_email(followup, contexts[followup.pk]).message()
            alone = build_followup_email(followup, per_ticket_context(followup)).message()
            # Byte for byte, but for the multipart boundary, random in each message.
            assert without_boundary(batch) == without_boundary(alone)


# --- The sweep ---------------------------------------------------------------------------------


def test_the_sweep_queues_one_send_task_per_batch_of_rows(
    monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any
) -> None:
    monkeypatch.setattr(service, "SEND_BATCH", 4)
    tasks: list[list[int]] = []
    monkeypatch.setattr(followup_send_batch_task, "delay", tasks.append)
    tickets = [rebuilding() for _ in range(4)]
    due = list(
        FollowUp.objects.filter(ticket__in=tickets)
        .order_by("due_at", "id")
        .values_list("pk", flat=True)
    )[:10]
    FollowUp.objects.filter(pk__in=due).update(due_at=timezone.now() - timedelta(minutes=1))

    with django_capture_on_commit_callbacks(execute=True):
        claimed = followups_claim_due()

    assert sorted(claimed) == sorted(due)
    assert [len(batch) for batch in tasks] == [4, 4, 2]  # ceil(10 / 4) tasks
    assert [pk for batch in tasks for pk in batch] == claimed
