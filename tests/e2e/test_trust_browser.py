"""The customer's trust in headless Chromium, as an agent meets it: the
badge with its reasons on the queue row and the ticket page, and the
customer page's timeline drawn from the events listed under it."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from playwright.sync_api import Page, expect

from accounts.roles import Role
from recovery.models import FollowUp
from recovery.services import restitution_grant
from recovery.services.followup_responses import feedback_record
from tests.e2e.test_console_journey import sign_in
from tests.factories import StaffFactory, TicketFactory, advance, give_authority
from tests.helpers import not_none, screenshot
from tickets.models import Kind
from tickets.services import ticket_resolve, ticket_restore

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

EMAIL = "dana@example.com"


def test_an_agent_sees_a_fragile_customer_and_their_history(
    page: Page, live_server: object
) -> None:
    base = live_server.url  # type: ignore[attr-defined]
    agent = StaffFactory(role=Role.AGENT, username="alex", first_name="Alex")
    give_authority(agent, kinds=["credit"])
    now = timezone.now()
    with time_machine.travel(now - timedelta(days=70), tick=False):
        first = TicketFactory(
            actor=agent,
            kind=Kind.MISHAP,
            customer_email=EMAIL,
            customer_name="Dana Reyes",
            subject="Wrong size delivered",
        )
        first = advance(first, to="committed")
        restitution_grant(
            ticket=first,
            actor=agent,
            kind="credit",
            amount="20.00",
            currency="USD",
            reason="Sorry.",
            customer_loss="25.00",
        )
        first = ticket_resolve(ticket=first, actor=agent, message="Your credit is on its way.")
    with time_machine.travel(now - timedelta(days=60), tick=False):
        feedback_record(followup=not_none(FollowUp.objects.filter(ticket=first).first()), rating=4)
        ticket_restore(ticket=first, actor=agent, reason="Done.")
    with time_machine.travel(now - timedelta(days=10), tick=False):
        second = TicketFactory(
            actor=agent, kind=Kind.MISHAP, customer_email=EMAIL, subject="Parcel lost again"
        )
        advance(second, to="rebuilding")
    feedback_record(followup=not_none(FollowUp.objects.filter(ticket=second).first()), rating=2)
    TicketFactory(actor=agent, customer_email="calm@example.com", subject="Opening hours?")

    sign_in(page, base, agent)
    page.goto(f"{base}/console/tickets/ticket/?show=all")
    fragile = page.locator("#result_list tr", has_text="Parcel lost again").locator(
        ".badge.trust-fragile"
    )
    expect(fragile).to_have_text("Fragile")
    assert "rated 2 of 5 today" in (fragile.get_attribute("title") or "")
    calm = page.locator("#result_list tr", has_text="Opening hours?").locator(".badge.trust-new")
    expect(calm).to_have_text("New")
    screenshot(page, "trust-01-queue-badges")

    page.goto(f"{base}/console/tickets/ticket/{second.pk}/change/")
    header = page.locator("#customer-trust")
    expect(header.locator(".badge")).to_have_text("Fragile")
    expect(header).to_contain_text("2 mishaps in 70 days")
    expect(header).to_contain_text("a repeat failure: another mishap soon after the last")
    expect(header).to_contain_text("rated 2 of 5 today")
    expect(page.locator("#repeat-guidance")).to_contain_text("not recovered by money alone")
    screenshot(page, "trust-02-ticket-header")

    header.get_by_role("link", name="Trust over time").click()
    chart = page.locator("#trust-chart")
    expect(chart).to_be_visible()
    box = chart.bounding_box()
    assert box is not None
    assert box["width"] > 300
    rows = page.locator("#trust-events tbody tr")
    marks = chart.locator(".mark")
    assert marks.count() == rows.count()
    assert rows.count() >= 7  # 2 mishaps, 2 promises, a credit, 2 ratings
    for kind in ("mishap", "repeat", "kept", "restitution", "rating"):
        expect(chart.locator(f".mark-{kind}").first).to_be_attached()
    expect(page.locator("#trust-events")).to_contain_text("Credit 20.00 USD (80% of the loss)")
    page.locator("#trust-timeline").scroll_into_view_if_needed()
    screenshot(page, "trust-03-customer-timeline")
