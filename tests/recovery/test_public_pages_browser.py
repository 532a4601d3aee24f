"""The customer's one-click rating in headless Chromium, under the real
Content-Security-Policy (the ``page`` fixture fails the test on any
violation, tests/browser.py)."""

from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, expect

from recovery.models import Feedback
from recovery.selectors.followup_links import links_for
from tests.factories import TicketFactory, advance
from tests.helpers import ARTIFACTS, screenshot
from tickets.models import Kind

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_a_customer_rates_in_one_click_then_adds_a_comment(live_server: Any, page: Page) -> None:
    ticket = advance(TicketFactory(kind=Kind.MISHAP), to="rebuilding")
    followup = ticket.followups.first()
    assert followup is not None
    four = dict(links_for(followup).ratings)[4]

    page.goto(f"{live_server.url}{urlsplit(four).path}")

    expect(page.get_by_text("We have your rating: 4 out of 5")).to_be_visible()
    expect(page.locator("input[name=rating][value='4']")).to_be_checked()
    comment = page.get_by_label("Would you like to tell us more? (optional)")
    expect(comment).to_be_visible()
    comment.fill("The refund arrived the next morning. Thank you for sorting it out.")
    page.get_by_role("button", name="Send").click()

    expect(page.get_by_text("Your changes are saved. Your rating: 4 out of 5")).to_be_visible()
    expect(comment).to_have_value(
        "The refund arrived the next morning. Thank you for sorting it out."
    )
    screenshot(page, "feedback-one-click", folder=ARTIFACTS / "emails")
    feedback = Feedback.objects.get()
    assert (feedback.rating, feedback.comment) == (
        4,
        "The refund arrived the next morning. Thank you for sorting it out.",
    )
