"""Saved replies in headless Chromium: an agent opens a step, starts from a
saved reply (filled for the ticket), is refused when sending it untouched,
makes it their own, and the step is taken."""

import pytest
from playwright.sync_api import Page, expect

from accounts.roles import Role
from tests.e2e.test_console_journey import sign_in
from tests.factories import StaffFactory, TicketFactory, advance
from tests.helpers import screenshot
from tickets.models import Kind, SavedReply, Ticket
from tickets.services.saved_replies import saved_reply_create

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_an_agent_starts_an_apology_from_a_saved_reply(page: Page, live_server: object) -> None:
    base = live_server.url  # type: ignore[attr-defined]
    supervisor = StaffFactory(role=Role.SUPERVISOR, username="sam")
    agent = StaffFactory(role=Role.AGENT, username="alex", first_name="Alex")
    reply = saved_reply_create(
        actor=supervisor,
        title="Late delivery",
        step="apologize",
        body="{customer_first_name}, I am sorry that {reference} arrived late. {agent_name}",
    )
    ticket = advance(
        TicketFactory(actor=agent, kind=Kind.MISHAP, customer_name="Ana Lima"), "acknowledged"
    )

    sign_in(page, base, agent)
    page.goto(f"{base}/console/tickets/ticket/{ticket.pk}/step/apologize/")
    page.get_by_label("Start from a saved reply").select_option(label="Late delivery")
    message = page.get_by_label("Message")
    expect(message).to_have_value(f"Ana, I am sorry that {ticket.reference} arrived late. Alex")
    expect(message).to_be_focused()
    screenshot(page, "saved-replies-01-inserted")

    page.get_by_role("button", name="Apologize", exact=True).click()
    expect(page.get_by_text("Make the saved reply your own before sending it")).to_be_visible()

    page.get_by_label("Start from a saved reply").select_option(label="Late delivery")
    message.fill(
        f"Ana, I am sorry that {ticket.reference} arrived late: the courier lost a day. Alex"
    )
    page.get_by_role("button", name="Apologize", exact=True).click()
    expect(page.get_by_text("Apologize: done.")).to_be_visible()
    assert Ticket.objects.get(pk=ticket.pk).status == "apologized"
    assert SavedReply.objects.get(pk=reply.pk).use_count == 1
