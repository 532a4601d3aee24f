"""Notifications (tickets.services.notifications, tickets.services.reminders):
raised by the services that cause them, in their transaction, each to the
people who should act, in the inbox and by email as each chose."""

from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.db import transaction
from django.utils.timezone import now as clock_now

from accounts.models import User
from accounts.roles import Role
from outbox.models import OutboxItem
from recovery.services import approval_decide, restitution_grant
from recovery.services.followup_responses import feedback_record
from tests.delivery import deliver_outbox
from tests.factories import QueueFactory, StaffFactory, TicketFactory, advance
from tests.helpers import not_none
from tickets.models import Kind, Notification, NotificationKind, Severity, Ticket
from tickets.services import (
    message_receive,
    ticket_apologize,
    ticket_commit,
    ticket_resolve,
    ticket_update,
    timeliness_check,
)
from tickets.services.alerts import SOURCE as ALERTS
from tickets.services.notifications import SOURCE as NOTIFICATIONS
from tickets.services.notifications import notification_preferences_set, notify
from tickets.services.reminders import reminders_send

pytestmark = pytest.mark.django_db

MINOR_ACKNOWLEDGE = timedelta(hours=4)


def told(user: User, kind: str | None = None) -> list[Notification]:
    rows = Notification.objects.filter(recipient=user).order_by("id")
    return list(rows.filter(kind=kind) if kind else rows)


def emails_to(address: str) -> list[Any]:
    return [m for m in mail.outbox if address in m.to]


# --- Assigned to you -------------------------------------------------------------------


def test_assigning_a_ticket_tells_the_new_assignee_in_the_inbox_and_by_email(
    supervisor: User,
) -> None:
    agent = StaffFactory(role=Role.AGENT, first_name="Ana", last_name="Costa")
    ticket = TicketFactory(actor=supervisor, subject="Broken kettle")

    ticket_update(ticket=ticket, actor=supervisor, assignee=agent)

    [notification] = told(agent)
    assert notification.kind == NotificationKind.ASSIGNED
    assert notification.ticket == ticket
    assert notification.in_app
    assert notification.email
    assert notification.read_at is None
    assert f"{ticket.reference} was assigned to you by {supervisor.username}" in notification.text
    assert "Broken kettle" in notification.text
    deliver_outbox(source=NOTIFICATIONS)
    [email] = emails_to(agent.email)
    assert email.subject == f"[{ticket.reference}] A ticket is assigned to you"
    assert notification.text in email.body
    assert f"/console/tickets/ticket/{ticket.pk}/change/" in email.body
    assert "/console/notifications/settings/" in email.body
    notification.refresh_from_db()
    assert notification.emailed_at is not None


def test_nobody_is_told_what_they_did_themselves(agent: User, supervisor: User) -> None:
    TicketFactory(actor=agent)  # an agent's new ticket is theirs
    ticket = TicketFactory(actor=supervisor)
    ticket_update(ticket=ticket, actor=supervisor, assignee=supervisor)

    assert told(agent) == []
    assert told(supervisor) == []


def test_a_ticket_opened_for_someone_else_tells_them(supervisor: User, agent: User) -> None:
    ticket = TicketFactory(actor=supervisor, assignee=agent)

    assert [n.kind for n in told(agent)] == [NotificationKind.ASSIGNED]
    assert told(agent)[0].ticket == ticket


# --- The customer wrote ----------------------------------------------------------------


def test_a_reply_on_an_open_ticket_is_in_the_assignees_inbox_only_by_default(agent: User) -> None:
    ticket = TicketFactory(actor=agent)

    message_receive(ticket=ticket, body="Any news?\n\nIt has been   three days.")

    [notification] = told(agent)
    assert notification.kind == NotificationKind.CUSTOMER_REPLIED
    assert notification.text == (
        f"{ticket.customer.name} replied on {ticket.reference}: “Any news? It has been three days.”"
    )
    assert notification.in_app
    assert not notification.email
    assert not OutboxItem.objects.filter(source=NOTIFICATIONS).exists()


def test_a_reply_that_reopens_tells_the_assignee_why_and_emails_them(agent: User) -> None:
    ticket = advance(TicketFactory(actor=agent), "resolved")

    message_receive(ticket=ticket, body="It broke again.")

    [notification] = told(agent, NotificationKind.CUSTOMER_REOPENED)
    assert notification.text == (
        f"{ticket.customer.name} wrote again and reopened {ticket.reference} "
        "(it was resolved): “It broke again.”"
    )
    assert notification.email
    deliver_outbox(source=NOTIFICATIONS)
    assert len(emails_to(agent.email)) == 1


def test_a_reopened_ticket_nobody_holds_tells_its_queues_members(supervisor: User) -> None:
    members = [StaffFactory(role=Role.AGENT), StaffFactory(role=Role.AGENT)]
    outsider = StaffFactory(role=Role.AGENT)
    queue = QueueFactory(members=members)
    ticket = advance(
        TicketFactory(actor=supervisor, queue=queue, unassigned=True), "resolved", actor=supervisor
    )
    assert ticket.assignee is None

    message_receive(ticket=ticket, body="Still broken.")

    for member in members:
        assert [n.kind for n in told(member)] == [NotificationKind.CUSTOMER_REOPENED]
    assert told(outsider) == []
    assert told(supervisor) == []


def test_a_reopened_ticket_with_no_holder_and_no_queue_tells_the_supervisors(
    supervisor: User,
) -> None:
    ticket = advance(TicketFactory(actor=supervisor, unassigned=True), "resolved", actor=supervisor)

    message_receive(ticket=ticket, body="Still broken.")

    assert [n.kind for n in told(supervisor)] == [NotificationKind.CUSTOMER_REOPENED]


# --- Ratings, approvals, targets (alongside the staff alerts) ---------------------------


def test_a_low_rating_reaches_the_inbox_and_its_email_is_the_alerts(
    agent: User, supervisor: User
) -> None:
    ticket = advance(TicketFactory(actor=agent, kind=Kind.MISHAP), "rebuilding")
    notification_preferences_set(
        user=supervisor, choices={NotificationKind.LOW_RATING: (True, False)}
    )

    feedback_record(
        followup=not_none(ticket.followups.order_by("due_at").first()), rating=2, comment="Meh"
    )

    for person in (agent, supervisor):
        [notification] = told(person)
        assert notification.kind == NotificationKind.LOW_RATING
        assert "rated us 2 out of 5" in notification.text
        assert "Meh" in notification.text
        assert not notification.email  # the alert's email is the email
    deliver_outbox(source=ALERTS)
    [alert_email] = [m for m in mail.outbox if "Low rating" in m.subject]
    # The supervisor chose the inbox only for low ratings: not emailed.
    assert alert_email.to == [agent.email]


def test_a_decided_approval_tells_the_agent_with_the_reason(agent: User, supervisor: User) -> None:
    ticket = TicketFactory(actor=agent, kind=Kind.MISHAP)
    pending = restitution_grant(
        ticket=ticket, actor=agent, amount="80.00", kind="refund", currency="USD", reason="Broken."
    )
    approval_decide(
        approval=pending.approval, actor=supervisor, approve=False, reason="Offer a credit instead."
    )

    [notification] = told(agent)
    assert notification.kind == NotificationKind.APPROVAL_DECIDED
    assert notification.text.endswith("was rejected: Offer a credit instead.")


def test_a_missed_target_is_in_the_inbox_of_the_assignee_and_supervisors(
    clock: Any, agent: User, supervisor: User
) -> None:
    TicketFactory(actor=agent, severity=Severity.MINOR)
    clock.shift(MINOR_ACKNOWLEDGE + timedelta(minutes=1))

    timeliness_check()

    assert [n.kind for n in told(agent)] == [NotificationKind.TARGET_MISSED]
    assert [n.kind for n in told(supervisor)] == [NotificationKind.TARGET_MISSED]


# --- Reminders: a target near, a promise nearly due -------------------------------------


def test_a_target_about_to_be_missed_is_told_once_within_the_lead_time(
    clock: Any, agent: User, settings: Any
) -> None:
    settings.HELPDESK_NOTIFY_TARGET_LEAD = timedelta(minutes=15)
    ticket = TicketFactory(actor=agent, severity=Severity.MINOR)
    clock.shift(MINOR_ACKNOWLEDGE - timedelta(minutes=16))
    assert reminders_send() == 0

    clock.shift(timedelta(minutes=4))  # 12 minutes left
    assert reminders_send() == 1
    assert reminders_send() == 0  # told once

    [notification] = told(agent)
    assert notification.kind == NotificationKind.TARGET_NEAR
    assert notification.text == (
        f"{ticket.customer.name} must be acknowledged on {ticket.reference} within "
        "12 minutes, or the target is missed."
    )


def test_a_reopened_mishap_is_warned_of_again_for_its_new_clock(clock: Any, agent: User) -> None:
    apologize_within = timedelta(hours=24)  # a minor mishap's apology target
    ticket = advance(TicketFactory(actor=agent, kind=Kind.MISHAP), "acknowledged")
    clock.shift(apologize_within - timedelta(minutes=5))
    assert reminders_send() == 1
    ticket = ticket_apologize(ticket=ticket, actor=agent, message="We are sorry.")
    ticket = ticket_commit(
        ticket=ticket, actor=agent, promise="A new one.", due_at=clock_now() + timedelta(days=2)
    )
    ticket = ticket_resolve(ticket=ticket, actor=agent, message="Sent.")
    message_receive(ticket=ticket, body="Again.")  # reopened: apologize again, a new clock
    clock.shift(apologize_within - timedelta(minutes=5))

    assert reminders_send() == 1
    texts = [n.text for n in told(agent, NotificationKind.TARGET_NEAR)]
    assert len(texts) == 2
    assert all("must be apologized to" in text for text in texts)


def test_an_acknowledged_ticket_is_not_warned_of(clock: Any, agent: User) -> None:
    advance(TicketFactory(actor=agent, severity=Severity.MINOR), "acknowledged")
    clock.shift(MINOR_ACKNOWLEDGE - timedelta(minutes=5))

    assert reminders_send() == 0


def test_a_promise_nearly_due_is_told_once_to_whoever_holds_the_ticket(
    clock: Any, agent: User, settings: Any
) -> None:
    settings.HELPDESK_NOTIFY_COMMITMENT_LEAD = timedelta(hours=4)
    ticket = advance(TicketFactory(actor=agent, kind=Kind.MISHAP), "committed")
    commitment = ticket.commitments.get()  # due in two days (tests.factories.advance)
    clock.move_to(commitment.due_at - timedelta(hours=5))
    assert reminders_send() == 0

    clock.move_to(commitment.due_at - timedelta(hours=3))
    assert reminders_send() == 1
    assert reminders_send() == 0

    [notification] = told(agent, NotificationKind.COMMITMENT_DUE)
    assert notification.text == (
        f"The promise to {ticket.customer.name} on {ticket.reference} is due in about "
        "3 hours: “A replacement ships today.”"
    )


# --- Choices and transactions ----------------------------------------------------------


def test_each_person_chooses_the_inbox_email_both_or_neither(supervisor: User) -> None:
    email_only, neither = StaffFactory(role=Role.AGENT), StaffFactory(role=Role.AGENT)
    notification_preferences_set(
        user=email_only, choices={NotificationKind.ASSIGNED: (False, True)}
    )
    notification_preferences_set(user=neither, choices={NotificationKind.ASSIGNED: (False, False)})
    first, second = TicketFactory(actor=supervisor), TicketFactory(actor=supervisor)

    ticket_update(ticket=first, actor=supervisor, assignee=email_only)
    ticket_update(ticket=second, actor=supervisor, assignee=neither)

    [row] = told(email_only)
    assert not row.in_app
    assert row.email
    assert told(neither) == []
    deliver_outbox(source=NOTIFICATIONS)
    assert len(emails_to(email_only.email)) == 1
    assert emails_to(neither.email) == []


def test_an_unknown_kind_is_refused_and_nothing_changes(agent: User) -> None:
    from core.errors import RuleViolation

    with pytest.raises(RuleViolation, match="no notification kind 'nope'"):
        notification_preferences_set(
            user=agent, choices={NotificationKind.ASSIGNED: (False, False), "nope": (True, True)}
        )
    assert not agent.notification_preferences.exists()


def test_a_step_that_rolls_back_tells_nobody(agent: User, supervisor: User) -> None:
    ticket = TicketFactory(actor=supervisor)

    def step_that_fails_after_assigning() -> None:
        with transaction.atomic():
            ticket_update(ticket=ticket, actor=supervisor, assignee=agent)
            raise RuntimeError("the rest of the step failed")

    with pytest.raises(RuntimeError):
        step_that_fails_after_assigning()

    assert told(agent) == []
    assert not OutboxItem.objects.filter(source=NOTIFICATIONS).exists()


def test_a_person_named_twice_is_told_and_emailed_once(agent: User, supervisor: User) -> None:
    ticket = TicketFactory(actor=supervisor)
    [row] = notify(
        kind=NotificationKind.ASSIGNED, ticket=ticket, recipients=[agent, agent], text="Yours."
    )

    deliver_outbox(source=NOTIFICATIONS)
    deliver_outbox(source=NOTIFICATIONS)

    assert len(emails_to(agent.email)) == 1
    assert Ticket.objects.get(pk=ticket.pk).notifications.get() == row
