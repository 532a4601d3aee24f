"""Delivering outbox rows: once each, failures by kind, leases (outbox/dispatch.py,
leases.py, outcomes.py)."""

import smtplib
import socket
from datetime import timedelta
from typing import Any
from unittest import mock

import pytest
from django.core import mail
from django.db import OperationalError, connection, transaction
from django.utils import timezone

from outbox import dispatch as dispatch_module
from outbox import leases
from outbox.dispatch import outbox_dispatch
from outbox.models import OutboxItem
from outbox.outcomes import mark_sent, retry_delay
from outbox.sources import Postpone, Skip, Unsendable
from tests.helpers import assignee_of
from tests.outbox import backends
from tests.outbox.fake_source import FakeSource, enqueue, fail_with

pytestmark = pytest.mark.django_db

Status = OutboxItem.Status


def rows() -> dict[int, OutboxItem]:
    return {row.source_id: row for row in OutboxItem.objects.all()}


def test_a_batch_goes_over_one_connection_each_with_its_stable_message_id(
    source: FakeSource,
) -> None:
    enqueue(1, 2, 3)

    done = outbox_dispatch()

    assert len(done.sent) == 3
    assert len(backends.connections_opened) == 1
    assert source.compose_calls == 1  # the whole batch composed at once
    assert sorted(m.extra_headers["Message-ID"] for m in mail.outbox) == [
        "<test-1@helpdesk.test>",
        "<test-2@helpdesk.test>",
        "<test-3@helpdesk.test>",
    ]
    for row in rows().values():
        assert row.status == Status.SENT
        assert row.attempts == 1
        assert row.sent_at is not None
        assert row.lease_token is None
    assert sorted(call[1] for call in source.hooks("delivered")) == [1, 2, 3]


def test_a_sent_row_is_never_sent_again(source: FakeSource) -> None:
    enqueue(1)
    outbox_dispatch()

    again = outbox_dispatch(item_ids=list(OutboxItem.objects.values_list("pk", flat=True)))

    assert again.claimed == 0
    assert len(mail.outbox) == 1


def test_rows_not_yet_due_wait(source: FakeSource) -> None:
    enqueue(1, due_at=timezone.now() + timedelta(minutes=5))

    assert outbox_dispatch().claimed == 0
    assert mail.outbox == []


@pytest.mark.parametrize(
    "error",
    [
        smtplib.SMTPResponseException(451, b"4.7.1 Greylisted, try again later"),
        smtplib.SMTPRecipientsRefused({"c1@example.com": (450, b"Mailbox busy")}),
        smtplib.SMTPServerDisconnected("Connection unexpectedly closed"),
        ConnectionRefusedError(111, "Connection refused"),
        TimeoutError("timed out"),
        socket.gaierror(-3, "Temporary failure in name resolution"),
    ],
    ids=["4xx", "recipient-4xx", "disconnected", "refused", "timeout", "dns"],
)
def test_a_temporary_failure_is_retried_later_with_its_error_on_the_row(
    source: FakeSource, error: BaseException
) -> None:
    enqueue(1, 2)
    fail_with(1, error)
    before = timezone.now()

    done = outbox_dispatch()

    row = rows()[1]
    assert row.status == Status.PENDING
    assert row.attempts == 1
    assert type(error).__name__ in row.last_error
    assert row.first_failure_at is not None
    # The first wait: between half and all of HELPDESK_OUTBOX_RETRY_BASE (60 s).
    assert before + timedelta(seconds=29) <= row.due_at <= timezone.now() + timedelta(seconds=61)
    assert source.hooks("failed") == []
    assert [call[1] for call in source.hooks("attempt_failed")] == [1]
    # The other mail of the batch went, on a new connection after the failure.
    assert rows()[2].status == Status.SENT
    assert list(done.retrying) == [row.pk]


@pytest.mark.parametrize(
    "error",
    [
        smtplib.SMTPResponseException(554, b"5.7.1 Message rejected"),
        smtplib.SMTPRecipientsRefused({"c1@example.com": (550, b"5.1.1 No such user")}),
        smtplib.SMTPSenderRefused(553, b"5.1.8 Sender rejected", "desk@example.com"),
        ValueError("Header values can't contain newlines"),
    ],
    ids=["5xx", "unknown-address", "sender-5xx", "unencodable"],
)
def test_a_permanent_failure_fails_at_once_and_tells_its_source(
    source: FakeSource, error: BaseException
) -> None:
    enqueue(1)
    fail_with(1, error)

    done = outbox_dispatch()

    row = rows()[1]
    assert row.status == Status.FAILED
    assert row.failed_at is not None
    assert row.attempts == 1
    assert [call[1] for call in source.hooks("failed")] == [1]
    assert source.hooks("failed")[0][2] == row.last_error
    assert list(done.failed) == [row.pk]


def test_temporary_failures_give_up_after_the_retry_period(
    source: FakeSource, settings: Any
) -> None:
    enqueue(1)
    fail_with(1, smtplib.SMTPResponseException(421, b"4.3.2 Service not available"))
    outbox_dispatch()
    # Refused ever since, for longer than HELPDESK_OUTBOX_RETRY_FOR.
    OutboxItem.objects.update(
        due_at=timezone.now(),
        first_failure_at=timezone.now() - settings.HELPDESK_OUTBOX_RETRY_FOR,
    )

    outbox_dispatch()

    row = rows()[1]
    assert row.status == Status.FAILED
    assert row.attempts == 2
    assert row.last_error.startswith("Gave up after 2 attempts since ")
    assert "421" in row.last_error
    assert len(source.hooks("failed")) == 1


def test_a_success_after_failures_starts_the_retry_period_afresh(source: FakeSource) -> None:
    enqueue(1)
    fail_with(1, smtplib.SMTPResponseException(451, b"Try later"))
    outbox_dispatch()
    backends.failures.clear()
    OutboxItem.objects.update(due_at=timezone.now())

    outbox_dispatch()

    row = rows()[1]
    assert (row.status, row.attempts, row.last_error, row.first_failure_at) == (
        Status.SENT,
        2,
        "",
        None,
    )


def test_what_the_source_says_instead_of_an_email(source: FakeSource) -> None:
    morning = timezone.now() + timedelta(hours=9)
    source.answers = {
        1: Skip("The follow-up was cancelled."),
        2: Postpone(morning),
        3: Unsendable("TemplateSyntaxError: unclosed tag"),
    }
    enqueue(1, 2, 3)

    outbox_dispatch()

    skipped, postponed, unsendable = rows()[1], rows()[2], rows()[3]
    assert (skipped.status, skipped.last_error) == (
        Status.CANCELLED,
        "The follow-up was cancelled.",
    )
    assert source.hooks("cancelled") == [("cancelled", 1, "The follow-up was cancelled.")]
    assert (postponed.status, postponed.due_at, postponed.attempts) == (Status.PENDING, morning, 0)
    assert unsendable.status == Status.FAILED
    assert source.hooks("failed") == [("failed", 3, "TemplateSyntaxError: unclosed tag")]
    assert mail.outbox == []


def test_rows_claimed_by_a_worker_are_not_taken_by_another(source: FakeSource) -> None:
    enqueue(1, 2)
    token = "00000000-0000-0000-0000-000000000001"
    OutboxItem.objects.filter(source_id=1).update(
        status=Status.SENDING, lease_token=token, lease_until=timezone.now() + timedelta(minutes=2)
    )

    done = outbox_dispatch()

    assert done.claimed == 1
    assert [m.extra_headers["Message-ID"] for m in mail.outbox] == ["<test-2@helpdesk.test>"]
    assert rows()[1].status == Status.SENDING


def test_a_long_batch_hands_the_rest_on(source: FakeSource, settings: Any) -> None:
    settings.HELPDESK_OUTBOX_BATCH_SECONDS = 0
    enqueue(1, 2, 3)

    done = outbox_dispatch()

    assert len(done.sent) == 1  # at least one row a task
    assert len(done.released) == 2
    assert sorted(r.status for r in rows().values()) == [
        Status.PENDING,
        Status.PENDING,
        Status.SENT,
    ]
    assert not OutboxItem.objects.exclude(status=Status.SENT).exclude(lease_token=None).exists()


def test_a_row_whose_lease_was_lost_mid_batch_is_left_to_its_new_holder(
    source: FakeSource, settings: Any
) -> None:
    """The sweep made it due again (this worker looked dead) and another
    worker took it: this batch must not send it too."""
    enqueue(1, 2)
    real_renew = dispatch_module.renew

    def taken_over_before_renewal(items: Any, lease: Any) -> set[int]:
        OutboxItem.objects.filter(source_id=2).update(
            lease_token="00000000-0000-0000-0000-0000000000ff"
        )
        return real_renew(items, lease)

    with (
        mock.patch.object(dispatch_module.Lease, "renewed", autospec=True),
        mock.patch.object(dispatch_module, "renew", taken_over_before_renewal),
    ):
        lease_length = settings.HELPDESK_OUTBOX_LEASE
        settings.HELPDESK_OUTBOX_LEASE = timedelta(0)  # renewal due before every row
        try:
            outbox_dispatch()
        finally:
            settings.HELPDESK_OUTBOX_LEASE = lease_length

    assert [m.extra_headers["Message-ID"] for m in mail.outbox] == ["<test-1@helpdesk.test>"]
    assert rows()[2].status == Status.SENDING


@pytest.mark.django_db(transaction=True)
def test_the_mark_sent_survives_a_lost_database_connection(source: FakeSource) -> None:
    """The server accepted the mail; the connection drops as we record it:
    recorded on a new connection, and the mail is not sent again."""
    enqueue(1)
    real_mark = dispatch_module.mark_sent
    failures = iter([OperationalError("server closed the connection unexpectedly")])

    def mark_after_a_drop(*args: Any) -> Any:
        error = next(failures, None)
        if error is not None:
            raise error
        return real_mark(*args)

    with mock.patch.object(dispatch_module, "mark_sent", mark_after_a_drop):
        done = outbox_dispatch()

    assert len(done.sent) == 1
    assert len(mail.outbox) == 1
    assert rows()[1].status == Status.SENT
    assert len(source.hooks("delivered")) == 1


def test_the_mark_sent_commits_without_waiting_for_the_disk_and_only_it(
    source: FakeSource,
) -> None:
    """Its one transaction (here the test's, around it) has synchronous_commit
    off; every other transaction keeps the server's setting."""
    enqueue(1)
    item = OutboxItem.objects.get()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL synchronous_commit TO on")  # whatever the server's default

    mark_sent(item)

    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        assert cursor.fetchone() == ("off",)
    item.refresh_from_db()
    assert (item.status, item.attempts, item.lease_token) == (Status.SENT, 1, None)
    assert item.sent_at is not None


@pytest.mark.django_db(transaction=True)
def test_a_later_transaction_commits_synchronously_again(source: FakeSource) -> None:
    enqueue(1)
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit TO on")  # this session's, whatever the server's

    mark_sent(OutboxItem.objects.get())  # its own transaction, in autocommit

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        assert cursor.fetchone() == ("on",)
    assert OutboxItem.objects.get().status == Status.SENT


def test_retry_waits_grow_to_the_cap_with_jitter(settings: Any) -> None:
    settings.HELPDESK_OUTBOX_RETRY_BASE = timedelta(seconds=60)
    settings.HELPDESK_OUTBOX_RETRY_CAP = timedelta(minutes=30)
    for attempts, full in [(1, 60), (2, 120), (3, 240), (6, 1800), (40, 1800)]:
        waits = {retry_delay(attempts).total_seconds() for _ in range(20)}
        assert all(full / 2 <= wait <= full for wait in waits), (attempts, waits)
        assert len(waits) > 1  # jittered, so refused rows do not return together


@pytest.mark.django_db(transaction=True)
def test_a_claim_whose_commit_was_not_heard_back_is_read_by_its_token(
    source: FakeSource,
) -> None:
    """The claim committed, the connection dropped before we heard so: the
    batch finds its rows by its lease token and sends them now, not after
    the lease lapses."""
    enqueue(1, 2)
    real_claim = leases._claim_rows

    def claim_then_drop(*args: Any) -> None:
        real_claim(*args)
        raise OperationalError("server closed the connection unexpectedly")

    with mock.patch.object(leases, "_claim_rows", claim_then_drop):
        done = outbox_dispatch()

    assert len(done.sent) == 2
    assert sorted(r.status for r in rows().values()) == [Status.SENT, Status.SENT]


def test_a_batch_records_its_deliveries_with_their_sources_once_at_its_end(
    source: FakeSource,
) -> None:
    enqueue(1, 2, 3)

    outbox_dispatch()

    assert sorted(source.hooks("delivered")) == [
        ("delivered", 1),
        ("delivered", 2),
        ("delivered", 3),
    ]
    assert all(row.recorded_at is not None for row in rows().values())


def test_deliveries_a_dead_worker_did_not_record_are_recorded_by_the_sweep(
    source: FakeSource, settings: Any
) -> None:
    """Marked sent, then killed before its batch's end: the mails went, and
    the sweep tells their sources once the lease they were sent under is over."""
    from outbox.services import outbox_sweep

    enqueue(1, 2)
    with mock.patch.object(dispatch_module, "record_delivered"):
        outbox_dispatch()
    assert source.hooks("delivered") == []

    with mock.patch("outbox.tasks.outbox_dispatch_task.delay"):
        assert outbox_sweep().recorded == 0  # still inside the lease: the worker may yet
        OutboxItem.objects.update(sent_at=timezone.now() - settings.HELPDESK_OUTBOX_LEASE)
        assert outbox_sweep().recorded == 2
        assert outbox_sweep().recorded == 0

    assert sorted(source.hooks("delivered")) == [("delivered", 1), ("delivered", 2)]
    assert len(mail.outbox) == 2


def test_a_server_that_will_not_start_a_session_fails_nothing_for_good(
    source: FakeSource,
) -> None:
    """A 535 for a relay password just rotated is a 5xx, but it says nothing
    against the mails: they wait, and none is failed or alerted."""
    enqueue(1, 2)
    backends.open_failure.append(smtplib.SMTPAuthenticationError(535, b"5.7.8 Bad credentials"))

    done = outbox_dispatch()

    assert done.failed == {}
    assert len(done.retrying) == 2
    assert {(r.status, r.attempts) for r in rows().values()} == {(Status.PENDING, 1)}
    assert "535" in rows()[1].last_error
    assert source.hooks("failed") == []


def test_a_source_that_cannot_compose_costs_its_own_rows_an_attempt_only(
    source: FakeSource,
) -> None:
    """Its rows wait for a retry (a bug fixed meanwhile, or gone for good
    after HELPDESK_OUTBOX_RETRY_FOR); the batch is not abandoned."""
    enqueue(1, 2)
    source.broken = RuntimeError("a template tag that does not exist")

    done = outbox_dispatch()

    assert len(done.retrying) == 2
    assert {(r.status, r.attempts) for r in rows().values()} == {(Status.PENDING, 1)}
    assert "RuntimeError: a template tag" in rows()[1].last_error
    assert OutboxItem.objects.filter(status=Status.SENDING).count() == 0


def test_a_lost_database_connection_while_composing_is_not_the_emails_fault() -> None:
    """A row composed while the database went away is tried again (the
    dispatcher's retry), never failed for good as an unsendable email."""
    from cases.delivery import CASE_EMAILS
    from cases.models import CaseEmail
    from tests.factories import TicketFactory
    from tickets.services import message_create
    from tickets.services.delivery import MESSAGES

    ticket = TicketFactory()
    message = message_create(
        ticket=ticket, actor=assignee_of(ticket), body="On its way.", public=True
    )
    email = CaseEmail.objects.create(
        kind=CaseEmail.Kind.FRESH_LINK,
        customer=ticket.customer,
        ticket=ticket,
        message_id="<lost-connection@test>",
    )
    lost = OperationalError("server closed the connection unexpectedly")
    patched = mock.patch("tickets.services.delivery.build_ticket_email", side_effect=lost)
    with patched, pytest.raises(OperationalError):
        MESSAGES.compose([message.pk])
    patched = mock.patch("cases.emails.build_case_email", side_effect=lost)
    with patched, pytest.raises(OperationalError):
        CASE_EMAILS.compose([email.pk])
