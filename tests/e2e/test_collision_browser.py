"""Collision in headless Chromium, two people in two browser contexts: each
sees the other on the ticket; when one acknowledges, the other's page says
so and offers to reload; the other's stale step says who did it."""

from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from accounts.roles import Role
from tests.e2e.test_console_journey import sign_in
from tests.factories import QueueFactory, StaffFactory, TicketFactory
from tests.helpers import screenshot

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_two_agents_on_one_ticket(browser: Browser, live_server: Any, settings: Any) -> None:
    settings.HELPDESK_PRESENCE_HEARTBEAT_SECONDS = 1
    base = live_server.url
    alex = StaffFactory(role=Role.AGENT, username="alex", first_name="Alex")
    jordan = StaffFactory(role=Role.AGENT, username="jordan", first_name="Jordan")
    queue = QueueFactory(members=[alex, jordan])
    ticket = TicketFactory(actor=None, queue=queue, subject="Kettle leaks")
    contexts = [browser.new_context(), browser.new_context()]
    try:
        mine, theirs = (context.new_page() for context in contexts)
        sign_in(mine, base, alex)
        sign_in(theirs, base, jordan)
        step = f"{base}/console/tickets/ticket/{ticket.pk}/step/acknowledge/"
        mine.goto(step)
        theirs.goto(f"{base}/console/tickets/ticket/{ticket.pk}/change/")

        expect(mine.locator("#presence")).to_contain_text("Also on this ticket: Jordan")
        mine.get_by_label("Message").fill("Thanks, we are on it")
        expect(theirs.locator("#presence")).to_contain_text("Alex (writing)")

        theirs.get_by_role("link", name="Acknowledge", exact=True).click()
        theirs.get_by_label("Message").fill("We have your message, Ana.")
        theirs.get_by_role("button", name="Acknowledge", exact=True).click()
        expect(theirs.get_by_text("Acknowledge: done.")).to_be_visible()

        alert = mine.locator(".presence-changes")
        expect(alert).to_contain_text(
            "Jordan acknowledged this just now: “We have your message, Ana.”"
        )
        expect(alert.get_by_role("button", name="Reload the ticket")).to_be_visible()
        screenshot(mine, "collision-01-someone-acted")
        mine.get_by_role("button", name="Acknowledge", exact=True).click()
        expect(mine.locator("#stale-refusal")).to_contain_text(
            "Jordan acknowledged this just now: “We have your message, Ana.”"
        )
        screenshot(mine, "collision-02-stale-step")
    finally:
        for context in contexts:
            context.close()
