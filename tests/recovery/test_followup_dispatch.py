"""Follow-ups sent in batches through the outbox (issue 8, workload 4; issue
15): the sweep gives each due follow-up its outbox row and queues a dispatch
task per HELPDESK_OUTBOX_BATCH rows, and each batch sends its rows over one
SMTP connection, reading them in a fixed number of queries, each mail once."""

import smtplib
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import User
from outbox.dispatch import Dispatch, outbox_dispatch
from outbox.models import OutboxItem
from outbox.tasks import outbox_dispatch_task
from recovery.models import FollowUp, ProcessFix, Restitution
from recovery.services import process_fix_create, process_fix_set_status, restitution_grant
from recovery.services.followup_delivery import SOURCE
from recovery.services.followup_emails import (
    DoneFix,
    _context,
    build_followup_email,
    email_contexts,
)
from recovery.services.followups import followups_claim_due
from tests.delivery import item_for, make_due
from tests.helpers import assignee_of, free_port, not_none, rebuilding_mishap
from tests.smtp import SmtpSink
from tickets.models import Commitment, Ticket

pytestmark = pytest.mark.django_db

QUEUED = FollowUp.Status.QUEUED
SENT = FollowUp.Status.SENT
PENDING = OutboxItem.Status.PENDING


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


def rows_of(followup_ids: Sequence[int]) -> list[int]:
    """The outbox rows of ``followup_ids``, in the same order."""
    return [item_for(SOURCE, pk).pk for pk in followup_ids]


def dispatch(followup_ids: Sequence[int]) -> Dispatch:
    """One batch of the outbox, as a worker runs it, for these follow-ups' rows
    (the tickets' own step emails wait in the outbox too: not this test's)."""
    return outbox_dispatch(item_ids=rows_of(followup_ids))


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


def greylist(sink: SmtpSink) -> None:
    """The sink answers "try again later" (451) where it would refuse (554)."""
    refuse = sink.handler.handle_DATA

    async def handle_DATA(server: Any, session: Any, envelope: Any) -> str:
        reply = await refuse(server, session, envelope)
        return "451 4.7.1 Greylisted, try again later" if reply.startswith("554") else reply

    sink.handler.handle_DATA = handle_DATA  # type: ignore[method-assign]  # the point: answer otherwise


def message_ids(sink: SmtpSink) -> list[str]:
    return [str(mail["Message-ID"]) for mail in sink.received]


# --- Sending a batch ----------------------------------------------------------------------


def test_the_sweep_gives_each_due_follow_up_its_outbox_row() -> None:
    ids = queued(rebuilding_mishap(), per_ticket=2)

    items = [item_for(SOURCE, pk) for pk in ids]
    followups = {row.pk: row for row in FollowUp.objects.filter(pk__in=ids)}
    assert [(item.kind, item.status) for item in items] == [("email", PENDING)] * 2
    assert all(item.due_at <= timezone.now() for item in items)
    assert [item.message_id for item in items] == [followups[pk].message_id for pk in ids]
    assert {item.recipient for item in items} == {followups[ids[0]].customer.email}


def test_a_batch_is_sent_over_one_connection_each_mail_once(
    smtp_sink: SmtpSink, connections: list[tuple[str, int]]
) -> None:
    ids = queued(rebuilding_mishap(), rebuilding_mishap())

    done = dispatch(ids)

    rows = {row.pk: row for row in FollowUp.objects.filter(pk__in=ids)}
    assert done.sent == rows_of(ids)
    assert (done.retrying, done.failed, done.released) == ({}, {}, [])
    assert len(connections) == 1
    assert message_ids(smtp_sink) == [rows[pk].message_id for pk in ids]
    assert {(row.status, row.attempts, row.sent_at is not None) for row in rows.values()} == {
        (SENT, 1, True)
    }
    assert {item_for(SOURCE, pk).status for pk in ids} == {OutboxItem.Status.SENT}


def test_a_batch_costs_the_same_queries_whatever_its_size_but_each_mails_mark_sent() -> None:
    """The rows, their tickets' commitments, restitutions and fixes are read
    once for the batch, and the follow-ups recorded sent once at its end;
    what grows with it is only each mail's mark-sent, one UPDATE."""
    tickets = [rebuilding_mishap() for _ in range(19)]
    ids = queued(*tickets, per_ticket=3)[:55]

    counted: dict[int, list[str]] = {}
    for batch in (rows_of(ids[:5]), rows_of(ids[5:])):
        mail.outbox.clear()
        with CaptureQueriesContext(connection) as captured:
            done = outbox_dispatch(item_ids=batch)
        assert (len(done.sent), len(mail.outbox)) == (len(batch), len(batch))
        counted[len(batch)] = [q["sql"].split()[0] for q in captured.captured_queries]

    # Claim (a savepoint around SELECT ... FOR UPDATE SKIP LOCKED and the
    # UPDATE that leases), the claimed rows, then the follow-ups with their
    # tickets and customers, commitments, restitutions and process fixes;
    # at the end one transaction (a savepoint in the test's) locking the
    # rows not yet recorded, marking them recorded and the follow-ups sent.
    fixed_selects, fixed = 7, 14
    # Per mail: the outbox row's UPDATE, committed at once.
    per_mail = 1
    small, large = counted[5], counted[50]
    assert small.count("SELECT") == large.count("SELECT") == fixed_selects
    assert (small.count("UPDATE"), large.count("UPDATE")) == (1 + 5 + 2, 1 + 50 + 2)
    assert len(small) == fixed + per_mail * 5
    assert len(large) - len(small) == 45 * per_mail


def test_rows_no_longer_queued_are_not_sent(smtp_sink: SmtpSink) -> None:
    sent, cancelled, waiting = queued(rebuilding_mishap())
    FollowUp.objects.filter(pk=sent).update(status=SENT, sent_at=timezone.now())
    FollowUp.objects.filter(pk=cancelled).update(status=FollowUp.Status.CANCELLED)

    done = dispatch([sent, cancelled, waiting])

    assert done.sent == rows_of([waiting])
    assert sorted(done.skipped) == sorted(rows_of([sent, cancelled]))
    assert message_ids(smtp_sink) == [FollowUp.objects.get(pk=waiting).message_id]
    assert FollowUp.objects.get(pk=cancelled).status == FollowUp.Status.CANCELLED
    assert item_for(SOURCE, cancelled).status == OutboxItem.Status.CANCELLED


def test_a_row_claimed_by_another_worker_is_left_to_it(smtp_sink: SmtpSink) -> None:
    theirs, mine = queued(rebuilding_mishap(), per_ticket=2)
    OutboxItem.objects.filter(pk=item_for(SOURCE, theirs).pk).update(
        status=OutboxItem.Status.SENDING,
        lease_token="00000000-0000-0000-0000-000000000001",
        lease_until=timezone.now() + timedelta(minutes=2),
    )

    assert dispatch([theirs, mine]).sent == rows_of([mine])
    assert FollowUp.objects.get(pk=theirs).status == QUEUED
    assert message_ids(smtp_sink) == [FollowUp.objects.get(pk=mine).message_id]


def test_running_a_dispatch_task_twice_sends_nothing_twice(smtp_sink: SmtpSink) -> None:
    ids = queued(rebuilding_mishap(), rebuilding_mishap())

    outbox_dispatch_task.apply(args=(rows_of(ids),))
    outbox_dispatch_task.apply(args=(rows_of(ids),))

    assert len(smtp_sink.received) == len(ids)
    assert set(FollowUp.objects.filter(pk__in=ids).values_list("attempts", flat=True)) == {1}


def test_a_mail_put_off_is_retried_alone_and_the_rest_of_the_batch_is_sent(
    smtp_sink: SmtpSink, connections: list[tuple[str, int]]
) -> None:
    first, refused, last = tickets = [rebuilding_mishap() for _ in range(3)]
    ids = queued(*tickets, per_ticket=1)
    smtp_sink.handler.refuse_recipients = {refused.customer.email}
    greylist(smtp_sink)

    done = dispatch(ids)

    rows = {row.ticket_id: row for row in FollowUp.objects.filter(pk__in=ids)}
    assert (rows[first.pk].status, rows[last.pk].status) == (SENT, SENT)
    put_off = rows[refused.pk]
    assert (put_off.status, put_off.attempts) == (QUEUED, 1)
    assert "451" in put_off.last_error
    item = item_for(SOURCE, put_off.pk)
    assert done.retrying == {item.pk: item.last_error}
    assert (item.status, item.attempts) == (PENDING, 1)
    assert item.due_at > timezone.now()  # after a backoff, not at once
    assert message_ids(smtp_sink) == [rows[first.pk].message_id, rows[last.pk].message_id]
    # After the refusal the next mail starts a new session.
    assert len(connections) == 2

    # Its wait over and the server willing, it alone goes.
    smtp_sink.handler.refuse_recipients = set()
    make_due(SOURCE)
    assert dispatch(ids).sent == [item.pk]
    put_off.refresh_from_db()
    assert (put_off.status, put_off.attempts, put_off.last_error) == (SENT, 2, "")
    assert message_ids(smtp_sink)[2:] == [put_off.message_id]


def test_an_unreachable_server_leaves_the_follow_ups_queued_for_a_later_try(
    smtp_sink: SmtpSink, settings: Any
) -> None:
    """Nobody listening is temporary: each row is tried, waits its backoff
    and goes once the server is back; nothing fails and nobody is alerted."""
    sink_port = settings.EMAIL_PORT
    settings.EMAIL_PORT = free_port()  # nobody listens
    ids = queued(rebuilding_mishap())

    done = dispatch(ids)

    assert (done.sent, done.failed) == ([], {})
    assert sorted(done.retrying) == sorted(rows_of(ids))
    rows = FollowUp.objects.filter(pk__in=ids)
    assert {(r.status, r.attempts) for r in rows} == {(QUEUED, 1)}
    assert all("refused" in r.last_error.lower() for r in rows)
    items = [item_for(SOURCE, pk) for pk in ids]
    assert {item.status for item in items} == {PENDING}
    assert all(item.due_at > timezone.now() for item in items)

    settings.EMAIL_PORT = sink_port
    make_due(SOURCE)
    assert dispatch(ids).sent == rows_of(ids)
    assert message_ids(smtp_sink) == [FollowUp.objects.get(pk=pk).message_id for pk in ids]
    assert set(FollowUp.objects.filter(pk__in=ids).values_list("status", flat=True)) == {SENT}


def test_a_batch_out_of_time_hands_the_rest_to_a_new_task(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = queued(rebuilding_mishap())
    settings.HELPDESK_OUTBOX_BATCH_SECONDS = 0
    handed: list[list[int]] = []
    monkeypatch.setattr(outbox_dispatch_task, "delay", handed.append)

    outbox_dispatch_task.apply(args=(rows_of(ids),))

    # One row a task at least, whatever the time.
    assert FollowUp.objects.get(pk=ids[0]).status == SENT
    assert handed == [rows_of(ids[1:])]
    assert set(FollowUp.objects.filter(pk__in=ids[1:]).values_list("status", "attempts")) == {
        (QUEUED, 0)
    }
    assert {item_for(SOURCE, pk).status for pk in ids[1:]} == {PENDING}


def test_the_night_guard_puts_off_only_the_customers_at_night(
    smtp_sink: SmtpSink, settings: Any
) -> None:
    settings.HELPDESK_FOLLOWUP_SEND_ONLY_IN_WINDOW = True
    night = datetime(2030, 7, 1, 1, 0, tzinfo=UTC)  # 03:00 in Berlin, 10:00 in Tokyo
    with time_machine.travel(night, tick=False):
        berlin, tokyo = queued(
            rebuilding_mishap("Europe/Berlin"), rebuilding_mishap("Asia/Tokyo"), per_ticket=1
        )
        done = dispatch([berlin, tokyo])

    assert done.sent == rows_of([tokyo])
    assert done.postponed == rows_of([berlin])
    waiting = FollowUp.objects.get(pk=berlin)
    assert (waiting.status, waiting.attempts, waiting.sent_at) == (QUEUED, 0, None)
    item = item_for(SOURCE, berlin)
    local = item.due_at.astimezone(ZoneInfo("Europe/Berlin"))
    assert (item.status, item.attempts) == (PENDING, 0)
    assert (local.date().isoformat(), 9 <= local.hour < 11) == ("2030-07-01", True)
    assert message_ids(smtp_sink) == [FollowUp.objects.get(pk=tokyo).message_id]

    # Its morning come, it goes.
    with time_machine.travel(item.due_at + timedelta(minutes=1), tick=False):
        assert dispatch([berlin]).sent == [item.pk]
    assert FollowUp.objects.get(pk=berlin).status == SENT
    assert message_ids(smtp_sink)[1:] == [waiting.message_id]


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
            DoneFix(fix.failsafe_change, not_none(fix.done_at))
            for fix in ticket.process_fixes.filter(status=ProcessFix.Status.DONE)
        ],
    )


def without_boundary(message: Any) -> bytes:
    return bytes(message.as_bytes().replace(message.get_boundary().encode(), b"BOUNDARY"))


def test_the_batch_writes_each_email_as_its_own_tickets_rows_say(supervisor: User) -> None:
    plain, rich, other = (rebuilding_mishap() for _ in range(3))
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
            actor=assignee_of(rich),
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
    by_id = {followup.pk: followup for followup in followups}
    mail.outbox.clear()
    with time_machine.travel(timezone.now(), tick=False):
        for followup in followups:
            batch = build_followup_email(followup, contexts[followup.pk]).message()
            alone = build_followup_email(followup, per_ticket_context(followup)).message()
            # Byte for byte, but for the multipart boundary, random in each message.
            assert without_boundary(batch) == without_boundary(alone)
        # And what the outbox's batch actually sends is that same email.
        assert len(dispatch(ids).sent) == len(ids)
        for pk, sent in zip(ids, mail.outbox, strict=True):
            alone = build_followup_email(by_id[pk], per_ticket_context(by_id[pk])).message()
            assert without_boundary(sent.message()) == without_boundary(alone)


# --- The sweep ---------------------------------------------------------------------------------


def test_the_sweep_queues_one_dispatch_task_per_batch_of_rows(
    settings: Any, monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any
) -> None:
    settings.HELPDESK_OUTBOX_BATCH = 4
    tasks: list[list[int]] = []
    monkeypatch.setattr(outbox_dispatch_task, "delay", tasks.append)
    tickets = [rebuilding_mishap() for _ in range(4)]
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
    assert [pk for batch in tasks for pk in batch] == rows_of(claimed)
