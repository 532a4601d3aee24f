"""The sweeps (late steps, quiet tickets, the alerts' mail) when a ticket changes
under them, a close fails, or a worker or its task is lost."""

import uuid
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from core.errors import StepsMissing
from outbox.models import OutboxItem
from outbox.services import outbox_sweep
from outbox.tasks import outbox_dispatch_task
from tests.delivery import deliver_item, item_for, make_due
from tests.factories import StaffFactory, TicketFactory, advance
from tests.helpers import assignee_of
from tickets.models import Alert, Status, Ticket
from tickets.selectors import targets_by_severity
from tickets.services import timeliness
from tickets.services.alerts import SOURCE as ALERTS
from tickets.services.lifecycle import ticket_acknowledge

pytestmark = pytest.mark.django_db


def overdue_new_ticket() -> Ticket:
    with time_machine.travel(timezone.now() - timedelta(days=2)):
        return TicketFactory()


def test_a_ticket_acknowledged_after_the_sweep_listed_it_is_not_flagged() -> None:
    ticket = overdue_new_ticket()
    now = timezone.now()
    target = targets_by_severity()[ticket.severity]
    late = timeliness._late("acknowledge", ticket.severity, target.acknowledge_within, now)
    assert Ticket.objects.filter(late, pk=ticket.pk).exists()  # the sweep lists it...

    ticket_acknowledge(
        ticket=ticket, actor=assignee_of(ticket), message="Here now."
    )  # ...then this
    recorded = timeliness._record_breach(
        ticket_id=ticket.pk,
        step="acknowledge",
        within=target.acknowledge_within,
        late=late,
        now=now,
    )

    assert recorded == 0
    assert not Alert.objects.exists()
    assert Ticket.objects.get(pk=ticket.pk).acknowledge_breached_at is None


def test_one_ticket_that_cannot_close_does_not_stop_the_others(
    monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    with time_machine.travel(timezone.now() - settings.HELPDESK_AUTO_CLOSE_AFTER * 2):
        stuck = advance(TicketFactory(), to="resolved")
        quiet = advance(TicketFactory(), to="resolved")
    real_close = timeliness.ticket_close

    def close(*, ticket: Ticket, **kwargs: Any) -> Ticket:
        if ticket.pk == stuck.pk:  # as if reopened between the query and the close
            raise StepsMissing("reopened", missing_steps=[], current_status="acknowledged")
        return real_close(ticket=ticket, **kwargs)

    monkeypatch.setattr(timeliness, "ticket_close", close)

    assert timeliness.tickets_close_quiet() == 1
    assert Ticket.objects.get(pk=quiet.pk).status == Status.CLOSED
    assert Ticket.objects.get(pk=stuck.pk).status == Status.RESOLVED


def alert_for_supervisor() -> Alert:
    StaffFactory(role="supervisor")
    with time_machine.travel(timezone.now() - timedelta(days=2)):
        ticket = TicketFactory()
    timeliness.timeliness_check()
    return Alert.objects.get(ticket=ticket)


def test_an_alert_left_by_a_dead_worker_is_swept_again(
    mailoutbox: list[Any], settings: Any, queued_tasks: list[Any]
) -> None:
    alert = alert_for_supervisor()
    lease = settings.HELPDESK_OUTBOX_LEASE
    # A worker claimed it and died mid-send.
    OutboxItem.objects.filter(pk=item_for(ALERTS, alert.pk).pk).update(
        status=OutboxItem.Status.SENDING,
        lease_token=uuid.uuid4(),
        lease_until=timezone.now() + lease,
    )

    assert not deliver_item(ALERTS, alert.pk).claimed  # the redelivered task backs off
    assert outbox_sweep().reclaimed == 0
    with time_machine.travel(timezone.now() + lease + timedelta(seconds=1)):
        assert outbox_sweep().reclaimed == 1
        assert deliver_item(ALERTS, alert.pk).sent

    assert len(mailoutbox) == 1
    alert.refresh_from_db()
    assert alert.sent_at is not None


def test_an_alert_whose_task_was_lost_is_swept_again(
    mailoutbox: list[Any], queued_tasks: list[Any]
) -> None:
    alert = alert_for_supervisor()  # its task, queued on commit, is lost

    assert outbox_sweep().due == 1
    [any_due] = queued_tasks
    outbox_dispatch_task(item_ids=any_due)

    assert len(mailoutbox) == 1
    alert.refresh_from_db()
    assert alert.sent_at is not None


@pytest.mark.usefixtures("no_smtp_server")
def test_an_alert_refused_until_the_retry_period_ends_is_marked_failed(
    settings: Any, queued_tasks: list[Any]
) -> None:
    settings.HELPDESK_OUTBOX_RETRY_FOR = timedelta(hours=1)
    alert = alert_for_supervisor()
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        for _ in range(2):
            assert list(deliver_item(ALERTS, alert.pk).retrying)
            traveller.shift(timedelta(minutes=31))
            make_due()
        assert list(deliver_item(ALERTS, alert.pk).failed)

        alert.refresh_from_db()
        assert alert.failed_at is not None
        assert alert.sent_at is None
        assert alert.attempts == 3
        assert "ConnectionRefusedError" in alert.last_error
        assert "Gave up after 3 attempts" in alert.last_error
        make_due()
        assert not deliver_item(ALERTS, alert.pk).claimed
        traveller.shift(timedelta(days=1))
        assert outbox_sweep().due == 0
