"""Notifications in headless Chromium, as an agent meets them: a supervisor
assigns them a ticket and its customer writes again; the header counts
both, the inbox lists them, opening one goes to its ticket and reads it,
and the choices per kind are saved."""

import pytest
from playwright.sync_api import Page, expect

from accounts.roles import Role
from tests.e2e.test_console_journey import sign_in
from tests.factories import StaffFactory, TicketFactory, advance
from tests.helpers import screenshot
from tickets.models import Notification, NotificationPreference
from tickets.services import message_receive, ticket_update

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_an_agent_sees_what_happened_and_opens_it(page: Page, live_server: object) -> None:
    base = live_server.url  # type: ignore[attr-defined]
    supervisor = StaffFactory(role=Role.SUPERVISOR, username="sam", first_name="Sam")
    agent = StaffFactory(role=Role.AGENT, username="alex", first_name="Alex")
    kettle = TicketFactory(actor=supervisor, subject="The kettle leaks", customer_name="Ana Lima")
    ticket_update(ticket=kettle, actor=supervisor, assignee=agent)
    parcel = advance(TicketFactory(actor=agent, subject="Parcel never came"), "resolved")
    message_receive(ticket=parcel, body="It still has not arrived.")

    sign_in(page, base, agent)
    menu = page.get_by_role("navigation", name="Console")
    expect(menu.get_by_role("link", name="Notifications (2)")).to_be_visible()
    menu.get_by_role("link", name="Notifications (2)").click()

    items = page.locator("#notification-list li")
    expect(items).to_have_count(2)
    expect(items.nth(0)).to_contain_text("The customer reopened a ticket")
    expect(items.nth(0)).to_contain_text("It still has not arrived.")
    expect(items.nth(1)).to_contain_text(f"{kettle.reference} was assigned to you by Sam")
    screenshot(page, "notifications-01-inbox")

    items.nth(1).get_by_role("button", name=f"Open {kettle.reference}").click()
    expect(
        page.get_by_role("heading", name=f"{kettle.reference} · The kettle leaks")
    ).to_be_visible()
    expect(menu.get_by_role("link", name="Notifications (1)")).to_be_visible()
    assert Notification.objects.get(ticket=kettle).read_at is not None

    menu.get_by_role("link", name="Notifications (1)").click()
    page.get_by_role("button", name="Mark all read").click()
    expect(page.get_by_text("Marked 1 read.")).to_be_visible()
    expect(menu.get_by_role("link", name="Notifications", exact=True)).to_be_visible()

    page.get_by_role("link", name="What you are told, and how").click()
    page.get_by_label("The customer replied: by email").check()
    page.get_by_label("A target is about to be missed: here").uncheck()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Saved: you will be told as chosen below.")).to_be_visible()
    expect(page.get_by_label("The customer replied: by email")).to_be_checked()
    screenshot(page, "notifications-02-settings")
    chosen = NotificationPreference.objects.get(user=agent, kind="customer_replied")
    assert chosen.in_app
    assert chosen.email
    assert not NotificationPreference.objects.get(user=agent, kind="target_near").in_app
