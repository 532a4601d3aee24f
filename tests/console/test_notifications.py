"""The console's notifications: the unread count in the header, the inbox
(open one, mark read, mark all read), opening a ticket reads its
notifications, and each person's choices per kind."""

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import User
from accounts.roles import Role
from tests.factories import StaffFactory, TicketFactory
from tests.helpers import console_client
from tickets.models import Notification, NotificationKind, NotificationPreference
from tickets.services import message_receive, ticket_update

pytestmark = pytest.mark.django_db

INBOX = reverse("console:notifications")
SETTINGS = reverse("console:notification_settings")


def assigned(agent: User, supervisor: User, subject: str = "Broken kettle") -> Notification:
    ticket = TicketFactory(actor=supervisor, subject=subject)
    ticket_update(ticket=ticket, actor=supervisor, assignee=agent)
    return Notification.objects.filter(recipient=agent).latest("id")


def test_the_header_counts_the_unread(agent: User, supervisor: User, agent_console: Client) -> None:
    assert "Notifications (" not in agent_console.get(INBOX).content.decode()
    assigned(agent, supervisor)
    assigned(agent, supervisor)

    page = agent_console.get(reverse("console:tickets_ticket_changelist")).content.decode()

    assert f'href="{INBOX}"' in page
    assert "Notifications (2)" in page


def test_the_inbox_lists_what_happened_newest_first(
    agent: User, supervisor: User, agent_console: Client
) -> None:
    first = assigned(agent, supervisor, "First one")
    second = assigned(agent, supervisor, "Second one")

    page = agent_console.get(INBOX).content.decode()

    assert page.index("Second one") < page.index("First one")
    assert second.ticket.reference in page
    assert first.ticket.reference in page
    assert page.count('class="notification unread"') == 2


def test_opening_one_marks_it_read_and_opens_its_ticket(
    agent: User, supervisor: User, agent_console: Client
) -> None:
    notification = assigned(agent, supervisor)

    response = agent_console.post(
        reverse("console:notification_read", args=[notification.pk]), {"then": "open"}
    )

    assert response.status_code == 302
    assert response["Location"] == reverse(
        "console:tickets_ticket_change", args=[notification.ticket_id]
    )
    notification.refresh_from_db()
    assert notification.read_at is not None


def test_opening_a_ticket_reads_its_notifications_and_no_others(
    agent: User, supervisor: User, agent_console: Client
) -> None:
    about_this = assigned(agent, supervisor)
    message_receive(ticket=about_this.ticket, body="Any news?")
    other = assigned(agent, supervisor)

    agent_console.get(reverse("console:tickets_ticket_change", args=[about_this.ticket_id]))

    assert not Notification.objects.filter(ticket=about_this.ticket, read_at=None).exists()
    other.refresh_from_db()
    assert other.read_at is None


def test_mark_all_read(agent: User, supervisor: User, agent_console: Client) -> None:
    assigned(agent, supervisor)
    assigned(agent, supervisor)

    response = agent_console.post(reverse("console:notifications_read_all"), follow=True)

    assert "Marked 2 read." in response.content.decode()
    assert not Notification.objects.filter(recipient=agent, read_at=None).exists()
    assert "Nothing unread." in agent_console.get(INBOX, {"show": "unread"}).content.decode()


def test_someone_elses_notification_cannot_be_read(agent: User, supervisor: User) -> None:
    theirs = assigned(StaffFactory(role=Role.AGENT), supervisor)

    response = console_client(agent).post(reverse("console:notification_read", args=[theirs.pk]))

    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_reading_needs_a_post(agent: User, supervisor: User, agent_console: Client) -> None:
    notification = assigned(agent, supervisor)

    response = agent_console.get(reverse("console:notification_read", args=[notification.pk]))

    assert response.status_code == 405
    notification.refresh_from_db()
    assert notification.read_at is None


def test_an_empty_inbox_says_what_will_come(agent_console: Client) -> None:
    page = agent_console.get(INBOX).content.decode()

    assert "Nothing yet." in page


def test_choices_are_saved_per_kind(agent: User, agent_console: Client) -> None:
    page = agent_console.get(SETTINGS).content.decode()
    assert 'name="customer_replied-in_app" aria-label="The customer replied: here" checked' in page
    assert 'name="customer_replied-email" aria-label="The customer replied: by email">' in page

    # Everything here, only assignments by email as well.
    form = {f"{kind}-in_app": "on" for kind in NotificationKind.values}
    form["assigned-email"] = "on"
    response = agent_console.post(SETTINGS, form, follow=True)

    assert "Saved" in response.content.decode()
    chosen = dict(NotificationPreference.objects.filter(user=agent).values_list("kind", "email"))
    assert chosen[NotificationKind.ASSIGNED] is True
    assert chosen[NotificationKind.LOW_RATING] is False
    assert len(chosen) == len(NotificationKind.values)


def test_the_pages_need_a_signed_in_staff_member() -> None:
    response = Client().get(INBOX)

    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_a_rejection_reason_is_on_the_ticket_too(
    agent: User, supervisor: User, agent_console: Client
) -> None:
    from recovery.services import approval_decide, restitution_grant
    from tickets.models import Kind

    ticket = TicketFactory(actor=agent, kind=Kind.MISHAP)
    pending = restitution_grant(
        ticket=ticket, actor=agent, amount="80.00", kind="refund", currency="USD", reason="Broken."
    )
    approval_decide(
        approval=pending.approval, actor=supervisor, approve=False, reason="Offer a credit."
    )

    page = agent_console.get(reverse("console:tickets_ticket_change", args=[ticket.pk]))

    assert f"Rejected by {supervisor.username}: Offer a credit." in page.content.decode()
