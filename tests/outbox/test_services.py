"""Writing to the outbox and running it: enqueue, the sweep, an admin's
retry, a source's cancel (outbox/services.py), and the admin list."""

import urllib.error
from datetime import timedelta
from typing import Any
from unittest import mock

import pytest
from django.test import Client
from django.utils import timezone

from outbox.failures import http_failure
from outbox.models import OutboxItem
from outbox.services import outbox_cancel, outbox_retry, outbox_sweep
from tests.factories import StaffFactory
from tests.outbox.fake_source import NAME, FakeSource, enqueue

pytestmark = pytest.mark.django_db

Status = OutboxItem.Status


def test_due_rows_go_to_workers_once_the_change_commits(
    source: FakeSource, django_capture_on_commit_callbacks: Any
) -> None:
    with mock.patch("outbox.tasks.outbox_dispatch_task.delay") as delay:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            created = enqueue(1, 2)
            enqueue(3, due_at=timezone.now() + timedelta(days=2))  # waits for the sweep
        assert delay.call_count == 0  # nothing before the commit
        for callback in callbacks:
            callback()

    assert delay.call_args_list == [mock.call([row.pk for row in created])]


def test_the_sweep_reclaims_rows_whose_worker_died_and_queues_what_is_due(
    source: FakeSource, settings: Any
) -> None:
    settings.HELPDESK_OUTBOX_BATCH = 2
    enqueue(1, 2, 3, 4, 5)
    now = timezone.now()
    lapsed = {"status": Status.SENDING, "lease_token": "00000000-0000-0000-0000-000000000001"}
    OutboxItem.objects.filter(source_id=1).update(**lapsed, lease_until=now - timedelta(seconds=1))
    OutboxItem.objects.filter(source_id=2).update(**lapsed, lease_until=now + timedelta(minutes=1))

    with mock.patch("outbox.tasks.outbox_dispatch_task.delay") as delay:
        sweep = outbox_sweep()

    reclaimed = OutboxItem.objects.get(source_id=1)
    assert (reclaimed.status, reclaimed.lease_token) == (Status.PENDING, None)
    assert OutboxItem.objects.get(source_id=2).status == Status.SENDING  # still held
    assert (sweep.reclaimed, sweep.due, sweep.tasks) == (1, 4, 2)
    assert delay.call_args_list == [mock.call(None), mock.call(None)]


def test_a_source_hook_that_fails_does_not_stop_the_sweep_queuing(
    source: FakeSource, settings: Any
) -> None:
    enqueue(1, 2)
    OutboxItem.objects.filter(source_id=1).update(
        status=Status.SENT,
        sent_at=timezone.now() - settings.HELPDESK_OUTBOX_LEASE - timedelta(seconds=1),
    )

    with (
        mock.patch("outbox.tasks.outbox_dispatch_task.delay") as delay,
        mock.patch("outbox.outcomes.source_for", side_effect=RuntimeError("hook broke")),
    ):
        sweep = outbox_sweep()

    assert (sweep.due, sweep.tasks, sweep.recorded) == (1, 1, 0)
    assert delay.call_count == 1


def test_the_sweep_queues_at_most_its_share_of_tasks(source: FakeSource, settings: Any) -> None:
    settings.HELPDESK_OUTBOX_BATCH = 1
    settings.HELPDESK_OUTBOX_SWEEP_TASKS = 3
    enqueue(*range(1, 11))

    with mock.patch("outbox.tasks.outbox_dispatch_task.delay") as delay:
        sweep = outbox_sweep()

    assert sweep.tasks == delay.call_count == 3


def test_a_dispatch_task_without_ids_goes_on_while_it_finds_full_batches(
    source: FakeSource, settings: Any
) -> None:
    from outbox.tasks import outbox_dispatch_task

    settings.HELPDESK_OUTBOX_BATCH = 2
    enqueue(1, 2, 3)

    with mock.patch.object(outbox_dispatch_task, "delay") as delay:
        outbox_dispatch_task.run(None)

    delay.assert_called_once_with(None)
    assert OutboxItem.objects.filter(status=Status.SENT).count() == 2


def test_an_admin_retry_sends_a_failed_row_again_and_tells_its_source(source: FakeSource) -> None:
    (row,) = enqueue(1)
    OutboxItem.objects.filter(pk=row.pk).update(
        status=Status.FAILED,
        failed_at=timezone.now(),
        first_failure_at=timezone.now() - timedelta(days=3),
        due_at=timezone.now() - timedelta(days=3),
        last_error="SMTPRecipientsRefused: 550",
    )

    with mock.patch("outbox.tasks.outbox_dispatch_task.delay"):
        retried = outbox_retry(item=row)

    assert retried.status == Status.PENDING
    assert retried.failed_at is None
    assert retried.first_failure_at is None
    assert retried.due_at > timezone.now() - timedelta(seconds=5)
    assert retried.last_error == "SMTPRecipientsRefused: 550"  # kept until the next attempt
    assert source.hooks("requeued") == [("requeued", 1)]


def test_a_retry_leaves_a_row_that_is_not_failed_alone(source: FakeSource) -> None:
    (row,) = enqueue(1)

    assert outbox_retry(item=row).status == Status.PENDING
    assert source.hooks("requeued") == []


def test_a_cancel_drops_waiting_rows_but_not_one_being_sent(source: FakeSource) -> None:
    enqueue(1, 2)
    OutboxItem.objects.filter(source_id=2).update(
        status=Status.SENDING,
        lease_token="00000000-0000-0000-0000-000000000001",
        lease_until=timezone.now() + timedelta(minutes=2),
    )

    cancelled = outbox_cancel(source=NAME, source_ids=[1, 2], reason="The ticket was reopened.")

    assert cancelled == 1
    first = OutboxItem.objects.get(source_id=1)
    assert (first.status, first.last_error) == (Status.CANCELLED, "The ticket was reopened.")
    assert OutboxItem.objects.get(source_id=2).status == Status.SENDING


@pytest.mark.parametrize(
    ("status_code", "error", "permanent"),
    [
        (500, None, False),
        (503, None, False),
        (429, None, False),
        (404, None, False),
        (410, None, True),
        (None, urllib.error.URLError("Connection refused"), False),
        (None, TimeoutError("timed out"), False),
        (None, ValueError("unknown url type: 'ftp'"), True),
    ],
)
def test_webhook_failures_by_kind(
    status_code: int | None, error: BaseException | None, permanent: bool
) -> None:
    assert http_failure(error, status_code).permanent is permanent


# --- The admin --------------------------------------------------------------------------


def admin_client(role: str = "admin") -> Client:
    client = Client()
    client.force_login(StaffFactory(role=role))
    return client


def test_admins_see_the_outbox_and_can_send_a_failed_row_again(source: FakeSource) -> None:
    failed, sent = enqueue(1, 2)
    OutboxItem.objects.filter(pk=failed.pk).update(
        status=Status.FAILED, failed_at=timezone.now(), last_error="SMTPDataError: 554 rejected"
    )
    OutboxItem.objects.filter(pk=sent.pk).update(status=Status.SENT, sent_at=timezone.now())
    client = admin_client()

    page = client.get("/admin/outbox/outboxitem/?status__exact=failed")
    assert page.status_code == 200
    assert "SMTPDataError: 554 rejected" in page.content.decode()

    with mock.patch("outbox.tasks.outbox_dispatch_task.delay"):
        response = client.post(
            "/admin/outbox/outboxitem/",
            {"action": "retry", "_selected_action": [failed.pk, sent.pk]},
            follow=True,
        )

    text = response.content.decode()
    assert "1 row(s) will be sent again." in text
    assert "1 row(s) were not failed or cancelled" in text
    assert OutboxItem.objects.get(pk=failed.pk).status == Status.PENDING
    assert OutboxItem.objects.get(pk=sent.pk).status == Status.SENT


def test_the_outbox_is_not_for_supervisors() -> None:
    assert admin_client("supervisor").get("/admin/outbox/outboxitem/").status_code in {302, 403}


def test_a_receiver_that_does_not_speak_http_is_a_temporary_failure() -> None:
    """A TLS port spoken to in clear, or anything that answers garbage:
    urllib lets http.client's error through unwrapped."""
    import socket
    import threading

    from outbox.http import post
    from outbox.sources import Webhook

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)

    def answer_garbage() -> None:
        conn, _ = listener.accept()
        conn.recv(65536)
        conn.sendall(b"\x16\x03\x01 not http at all\r\n\r\n")
        conn.close()

    thread = threading.Thread(target=answer_garbage, daemon=True)
    thread.start()
    port = listener.getsockname()[1]

    attempt, failure = post(Webhook(url=f"http://127.0.0.1:{port}/", body=b"{}", headers={}))

    thread.join(timeout=5)
    listener.close()
    assert failure is not None
    assert failure.permanent is False
    assert "BadStatusLine" in failure.error
    assert attempt.error == failure.error
