"""The queue as a work list in headless Chromium: an agent's open work,
most urgent first with its countdown, a bulk change through the admin
action and its page, a saved view, and a ticket found by its number."""

import pytest
from playwright.sync_api import Page, expect

from accounts.roles import Role
from tests.e2e.test_console_journey import sign_in
from tests.factories import QueueFactory, StaffFactory, TicketFactory, advance
from tests.helpers import screenshot
from tickets.models import Kind, Severity, Ticket

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_an_agent_works_the_list(page: Page, live_server: object) -> None:
    base = live_server.url  # type: ignore[attr-defined]
    agent = StaffFactory(role=Role.AGENT, username="alex", first_name="Alex")
    queue = QueueFactory(name="Deliveries", members=[agent])
    minor = TicketFactory(actor=agent, subject="Parcel left in the rain", customer_name="Ana Lima")
    critical = TicketFactory(
        actor=agent,
        subject="Charged twice for one order",
        customer_name="Bo Chen",
        severity=Severity.CRITICAL,
    )
    advance(TicketFactory(actor=agent, subject="Answered already"), "resolved")
    unassigned = TicketFactory(actor=None, queue=queue, subject="Nobody has this yet")
    advance(TicketFactory(actor=agent, kind=Kind.MISHAP, subject="Wrong size"), "committed")

    sign_in(page, base, agent)
    views = page.get_by_role("navigation", name="Views")
    expect(views.get_by_role("link", name="My open work")).to_have_attribute("aria-current", "page")
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(4)
    expect(rows.nth(0)).to_contain_text("Charged twice for one order")
    expect(rows.nth(0)).to_contain_text("acknowledge in 15 min")
    expect(rows.nth(1)).to_contain_text("acknowledge in 4 h")
    expect(rows.nth(2)).to_contain_text("promise due in 2 days")
    expect(rows.nth(3)).to_contain_text("Nobody has this yet")
    screenshot(page, "worklist-01-my-open-work")

    # Two tickets to major, through the action and its page.
    rows.nth(0).get_by_role("checkbox").check()
    rows.nth(1).get_by_role("checkbox").check()
    page.locator("select[name=action]").first.select_option("bulk_change_severity")
    page.get_by_role("button", name="Go").first.click()
    expect(page.get_by_text(f"{critical.reference} Charged twice for one order")).to_be_visible()
    page.get_by_label("Change the severity to").select_option("major")
    page.get_by_role("button", name="Apply to 2 tickets").click()
    expect(page.get_by_text("Changed the severity of 2 tickets")).to_be_visible()
    assert {Ticket.objects.get(pk=t.pk).severity for t in (minor, critical)} == {"major"}

    # A saved view, and a ticket by its number alone.
    views.get_by_role("link", name="Unassigned").click()
    page.get_by_label("Save this view as").fill("Up for grabs")
    page.get_by_role("button", name="Save view").click()
    expect(page.get_by_text("Saved the view “Up for grabs”.")).to_be_visible()
    expect(page.locator("#saved-views").get_by_role("link", name="Up for grabs")).to_be_visible()
    page.locator("#searchbar").fill(str(unassigned.pk))
    page.locator("#searchbar").press("Enter")
    expect(page.locator("#result_list tbody tr").first).to_contain_text("Nobody has this yet")
    screenshot(page, "worklist-02-saved-view-and-search")
