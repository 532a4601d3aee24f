"""The ticket page in headless Chromium: a step opens beside the customer's
last messages with its preview (item 4), and after a reopen the recovery
panel asks for this round's steps, folds the earlier round with how it
ended, and the history speaks in plain words (item 7)."""

import pytest
from playwright.sync_api import Page, expect

from accounts.roles import Role
from tests.e2e.test_console_journey import sign_in
from tests.factories import StaffFactory, TicketFactory, advance
from tests.helpers import screenshot
from tickets.models import Kind
from tickets.services import message_receive

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_a_step_opens_under_the_customers_words_with_its_preview(
    page: Page, live_server: object
) -> None:
    base = live_server.url  # type: ignore[attr-defined]
    agent = StaffFactory(role=Role.AGENT, username="alex", first_name="Alex")
    ticket = advance(
        TicketFactory(actor=agent, kind=Kind.MISHAP, customer_name="Ana Lima"), "acknowledged"
    )
    message_receive(ticket=ticket, body="The mug arrived in three pieces.")

    sign_in(page, base, agent)
    page.goto(f"{base}/console/tickets/ticket/{ticket.pk}/change/")
    page.get_by_role("link", name="Apologize", exact=True).click()

    form = page.locator("#step-form")
    expect(form).to_be_visible()
    last_message = page.locator("article.message").last
    expect(last_message).to_contain_text("The mug arrived in three pieces.")
    assert last_message.bounding_box()["y"] < form.bounding_box()["y"]  # type: ignore[index]
    expect(page.locator("#reply-form")).to_have_count(0)
    form.get_by_label("Message").fill("I am sorry about the mug, Ana.")
    form.get_by_role("button", name="Preview").click()
    expect(page.locator("#email-preview")).to_contain_text("I am sorry about the mug, Ana.")
    screenshot(page, "ticket-01-step-beside-the-conversation")
    page.locator("#step-form").get_by_role("button", name="Apologize", exact=True).click()
    expect(page.get_by_text("Apologize: done.")).to_be_visible()


def test_after_a_reopen_the_panel_tells_the_current_round(page: Page, live_server: object) -> None:
    base = live_server.url  # type: ignore[attr-defined]
    agent = StaffFactory(role=Role.AGENT, username="alex", first_name="Alex")
    ticket = advance(TicketFactory(actor=agent, kind=Kind.MISHAP), "rebuilding")
    message_receive(ticket=ticket, body="The replacement broke as well.")

    sign_in(page, base, agent)
    page.goto(f"{base}/console/tickets/ticket/{ticket.pk}/change/")

    steps = page.locator("#recovery-steps")
    expect(steps.locator("li.done")).to_have_count(1)  # acknowledged only, this round
    earlier = page.locator("details.earlier-round")
    expect(earlier.locator("summary")).to_contain_text(
        "Round 1: Acknowledged, Apologized, Promise made, Resolved, then reopened by the "
        "customer, who wrote: “The replacement broke as well.”"
    )
    earlier.locator("summary").click()
    expect(earlier).to_contain_text("A replacement ships today.")
    history = page.locator("section[aria-labelledby=history]")
    expect(history).to_contain_text("Apologized, by Alex")
    expect(history).not_to_contain_text("followups_")
    screenshot(page, "ticket-02-rounds-and-history")
