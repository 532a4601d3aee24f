"""Timeliness targets and the quiet-period close (tickets.services.timeliness),
and the alert email they lead to (tickets.services.alerts)."""

from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone

from accounts.models import User
from accounts.roles import Role
from tests.delivery import deliver_item
from tests.factories import StaffFactory, TicketFactory, advance
from tests.helpers import T0
from tickets.models import Alert, Kind, Severity, SeverityTarget, Status, Ticket, TicketEvent
from tickets.services import ticket_reopen, tickets_close_quiet, timeliness_check
from tickets.services.alerts import SOURCE as ALERTS

# The seeded targets for a minor ticket (migration 0002).
MINOR_ACKNOWLEDGE = timedelta(hours=4)
MINOR_APOLOGIZE = timedelta(hours=24)
JUST = timedelta(minutes=1)


def misses(ticket: Ticket, step: str) -> list[TicketEvent]:
    return list(ticket.events.filter(action="target_missed", payload__step=step))


@pytest.fixture
def supervisors(db: None) -> list[User]:
    return [StaffFactory(role=Role.SUPERVISOR), StaffFactory(role=Role.SUPERVISOR)]


# --- Acknowledgement target --------------------------------------------------------


@pytest.mark.django_db
def test_new_ticket_past_the_acknowledgement_target_is_recorded_once(
    clock: Any, supervisors: list[User]
) -> None:
    bystander = StaffFactory(role=Role.AGENT)
    ticket = TicketFactory(severity=Severity.MINOR)
    clock.shift(MINOR_ACKNOWLEDGE + JUST)

    assert timeliness_check() == 1

    ticket.refresh_from_db()
    assert ticket.acknowledge_breached_at == timezone.now()
    [event] = misses(ticket, "acknowledge")
    assert event.actor is None
    assert event.payload["due_at"] == (T0 + MINOR_ACKNOWLEDGE).isoformat()
    assert event.payload["late_seconds"] == 60
    [alert] = ticket.alerts.all()
    assert alert.kind == Alert.Kind.ACKNOWLEDGE_BREACH
    assert "within 4 hours and still is not. Acknowledge it now." in alert.detail
    assert set(alert.recipients.all()) == {ticket.assignee, *supervisors}
    assert bystander not in alert.recipients.all()

    clock.shift(timedelta(hours=1))
    assert timeliness_check() == 0
    assert len(misses(ticket, "acknowledge")) == 1
    assert ticket.alerts.count() == 1


@pytest.mark.django_db
def test_nothing_is_recorded_before_the_acknowledgement_target(clock: Any) -> None:
    ticket = TicketFactory(severity=Severity.MINOR)
    clock.shift(MINOR_ACKNOWLEDGE - JUST)

    assert timeliness_check() == 0

    ticket.refresh_from_db()
    assert ticket.acknowledge_breached_at is None
    assert misses(ticket, "acknowledge") == []
    assert not ticket.alerts.exists()


@pytest.mark.django_db
def test_an_acknowledged_ticket_is_not_late_for_acknowledgement(clock: Any) -> None:
    ticket = advance(TicketFactory(severity=Severity.MINOR), to=Status.ACKNOWLEDGED)
    clock.shift(MINOR_ACKNOWLEDGE * 3)

    assert timeliness_check() == 0

    ticket.refresh_from_db()
    assert ticket.acknowledge_breached_at is None
    assert not ticket.alerts.exists()


@pytest.mark.django_db
def test_each_severity_has_its_own_acknowledgement_target(clock: Any) -> None:
    critical = TicketFactory(severity=Severity.CRITICAL)
    minor = TicketFactory(severity=Severity.MINOR)
    clock.shift(timedelta(minutes=16))

    assert timeliness_check() == 1

    critical.refresh_from_db()
    minor.refresh_from_db()
    assert critical.acknowledge_breached_at is not None
    assert minor.acknowledge_breached_at is None


# --- Apology target ----------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("status", [Status.NEW, Status.ACKNOWLEDGED])
def test_mishap_not_yet_apologized_for_past_the_apology_target_is_recorded(
    clock: Any, supervisors: list[User], status: str
) -> None:
    ticket = advance(TicketFactory(kind=Kind.MISHAP, severity=Severity.MINOR), to=status)
    clock.shift(MINOR_APOLOGIZE + JUST)

    timeliness_check()

    ticket.refresh_from_db()
    assert ticket.apologize_breached_at == timezone.now()
    [event] = misses(ticket, "apologize")
    assert event.payload["due_at"] == (T0 + MINOR_APOLOGIZE).isoformat()
    [alert] = ticket.alerts.filter(kind=Alert.Kind.APOLOGY_BREACH)
    assert set(alert.recipients.all()) == {ticket.assignee, *supervisors}

    clock.shift(timedelta(hours=1))
    assert timeliness_check() == 0
    assert len(misses(ticket, "apologize")) == 1


@pytest.mark.django_db
def test_a_question_is_never_late_for_an_apology(clock: Any) -> None:
    ticket = advance(TicketFactory(kind=Kind.QUESTION), to=Status.ACKNOWLEDGED)
    clock.shift(MINOR_APOLOGIZE * 3)

    assert timeliness_check() == 0

    ticket.refresh_from_db()
    assert ticket.apologize_breached_at is None
    assert misses(ticket, "apologize") == []


@pytest.mark.django_db
@pytest.mark.parametrize("status", [Status.APOLOGIZED, Status.COMMITTED, Status.REBUILDING])
def test_a_mishap_apologized_for_is_never_late_for_an_apology(clock: Any, status: str) -> None:
    ticket = advance(TicketFactory(kind=Kind.MISHAP), to=status)
    clock.shift(MINOR_APOLOGIZE * 3)

    assert timeliness_check() == 0

    ticket.refresh_from_db()
    assert ticket.apologize_breached_at is None
    assert not ticket.alerts.exists()


@pytest.mark.django_db
def test_nothing_is_recorded_before_the_apology_target(clock: Any) -> None:
    ticket = advance(TicketFactory(kind=Kind.MISHAP), to=Status.ACKNOWLEDGED)
    clock.shift(MINOR_APOLOGIZE - JUST)

    assert timeliness_check() == 0

    ticket.refresh_from_db()
    assert ticket.apologize_breached_at is None


# --- Where the targets come from ---------------------------------------------------


@pytest.mark.django_db
def test_an_edited_severity_target_applies(clock: Any) -> None:
    SeverityTarget.objects.filter(severity=Severity.MINOR).update(
        acknowledge_within=timedelta(minutes=30)
    )
    ticket = TicketFactory(severity=Severity.MINOR)
    clock.shift(timedelta(minutes=29))
    assert timeliness_check() == 0

    clock.shift(timedelta(minutes=2))
    assert timeliness_check() == 1

    ticket.refresh_from_db()
    assert ticket.acknowledge_breached_at is not None
    [event] = misses(ticket, "acknowledge")
    assert event.payload["due_at"] == (T0 + timedelta(minutes=30)).isoformat()
    assert "within 30 minutes" in ticket.alerts.get().detail


@pytest.mark.django_db
def test_a_deleted_severity_target_falls_back_to_the_default(clock: Any) -> None:
    SeverityTarget.objects.filter(severity=Severity.MINOR).delete()
    ticket = TicketFactory(severity=Severity.MINOR)
    clock.shift(MINOR_ACKNOWLEDGE - JUST)
    assert timeliness_check() == 0

    clock.shift(JUST * 2)
    assert timeliness_check() == 1

    ticket.refresh_from_db()
    assert ticket.acknowledge_breached_at is not None


# --- Reopening ---------------------------------------------------------------------


@pytest.mark.django_db
def test_reopening_restarts_the_clock_and_a_later_apology_breach_is_recorded_again(
    clock: Any,
) -> None:
    ticket = TicketFactory(kind=Kind.MISHAP, severity=Severity.MINOR)
    clock.shift(MINOR_APOLOGIZE + JUST)
    timeliness_check()
    ticket = advance(ticket, to=Status.REBUILDING)
    assert ticket.apologize_breached_at is not None

    clock.shift(timedelta(days=2))
    reopened_at = timezone.now()
    ticket = ticket_reopen(ticket=ticket, actor=ticket.assignee, reason="The new vase broke too.")

    ticket.refresh_from_db()
    assert ticket.status == Status.ACKNOWLEDGED
    assert ticket.clock_started_at == reopened_at
    assert ticket.apologize_breached_at is None

    clock.shift(MINOR_APOLOGIZE - JUST)
    assert timeliness_check() == 0

    clock.shift(JUST * 2)
    assert timeliness_check() == 1
    ticket.refresh_from_db()
    assert ticket.apologize_breached_at == timezone.now()
    second = misses(ticket, "apologize")[-1]
    assert second.payload["due_at"] == (reopened_at + MINOR_APOLOGIZE).isoformat()
    assert len(misses(ticket, "apologize")) == 2
    assert ticket.alerts.filter(kind=Alert.Kind.APOLOGY_BREACH).count() == 2


# --- Alert email -------------------------------------------------------------------


@pytest.mark.django_db
def test_an_alert_is_emailed_once_to_its_recipients(clock: Any, supervisors: list[User]) -> None:
    ticket = TicketFactory(severity=Severity.MINOR)
    clock.shift(MINOR_ACKNOWLEDGE + JUST)
    timeliness_check()
    alert = ticket.alerts.get()
    assert ticket.assignee is not None

    assert deliver_item(ALERTS, alert.pk).sent
    assert not deliver_item(ALERTS, alert.pk).claimed

    [sent] = mail.outbox
    assert sorted(sent.to) == sorted([ticket.assignee.email, *(s.email for s in supervisors)])
    assert sent.subject == f"[HD-{ticket.pk:06d}] Acknowledgement target missed"
    assert alert.detail in sent.body
    assert ticket.subject in sent.body
    alert.refresh_from_db()
    assert alert.sent_at is not None
    assert alert.attempts == 1


# --- Closing quiet questions -------------------------------------------------------


@pytest.mark.django_db
def test_a_resolved_question_quiet_for_the_set_period_is_closed(clock: Any, settings: Any) -> None:
    settings.HELPDESK_AUTO_CLOSE_AFTER = timedelta(days=7)
    ticket = advance(TicketFactory(kind=Kind.QUESTION), to=Status.RESOLVED)
    clock.shift(timedelta(days=7) + JUST)

    assert tickets_close_quiet() == 1

    ticket.refresh_from_db()
    assert ticket.status == Status.CLOSED
    assert ticket.closed_at == timezone.now()
    close = ticket.events.get(action="close")
    assert close.actor is None
    assert close.from_status == Status.RESOLVED
    assert close.to_status == Status.CLOSED
    assert close.payload["reason"] == "No news for 7 days after the answer."


@pytest.mark.django_db
def test_a_recently_resolved_question_is_left_open(clock: Any, settings: Any) -> None:
    settings.HELPDESK_AUTO_CLOSE_AFTER = timedelta(days=7)
    ticket = advance(TicketFactory(kind=Kind.QUESTION), to=Status.RESOLVED)
    clock.shift(timedelta(days=7) - JUST)

    assert tickets_close_quiet() == 0

    ticket.refresh_from_db()
    assert ticket.status == Status.RESOLVED
    assert not ticket.events.filter(action="close").exists()


@pytest.mark.django_db
def test_the_quiet_period_comes_from_settings(clock: Any, settings: Any) -> None:
    settings.HELPDESK_AUTO_CLOSE_AFTER = timedelta(days=2)
    ticket = advance(TicketFactory(kind=Kind.QUESTION), to=Status.RESOLVED)
    clock.shift(timedelta(days=2) + JUST)

    assert tickets_close_quiet() == 1

    ticket.refresh_from_db()
    assert ticket.status == Status.CLOSED
    assert ticket.events.get(action="close").payload["reason"] == (
        "No news for 2 days after the answer."
    )
