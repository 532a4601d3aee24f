"""The preview in a real browser (the OS's headless Chromium): the email's HTML
is drawn with its own styles in the sandboxed frame, under the page's
Content-Security-Policy, with no violation; then the step is taken as
previewed."""

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from accounts.roles import Role
from tests.factories import TEST_PASSWORD, CustomerFactory, StaffFactory, TicketFactory, advance
from tickets.models import Kind, Message, Status

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


def snapshot(page: Page, name: str) -> None:
    """A full-page screenshot, once the frame's content is painted too."""
    page.evaluate("() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_commitment_preview_in_a_browser(live_server: Any, page: Page) -> None:
    agent = StaffFactory(role=Role.AGENT, username="ana", first_name="Ana", last_name="Costa")
    customer = CustomerFactory(name="Aiko Tanaka", time_zone="Asia/Tokyo", locale="en")
    ticket = advance(
        TicketFactory(
            actor=agent,
            kind=Kind.MISHAP,
            subject="Wrong size",
            customer_email=customer.email,
            customer_name=customer.name,
        ),
        to=Status.APOLOGIZED,
    )
    written = Message.objects.filter(ticket=ticket).count()
    due = timezone.localtime(timezone=timezone.get_default_timezone()) + timedelta(days=2)

    page.goto(
        f"{live_server.url}/console/login/?next=/console/tickets/ticket/{ticket.pk}/step/commit/"
    )
    page.fill("#id_username", agent.username)
    page.fill("#id_password", TEST_PASSWORD)
    page.click("input[type=submit]")
    page.get_by_label("Promise").fill("A new pair ships today, by courier.")
    page.get_by_label("Due by").fill(due.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_role("button", name="Preview", exact=True).click()

    preview = page.locator("#email-preview")
    expect(preview).to_be_visible()
    assert page.url.endswith("#email-preview")
    expect(preview.locator(".email-to")).to_have_text(f"Aiko Tanaka <{customer.email}>")
    expect(preview.locator(".email-subject")).to_have_text(f"Re: Wrong size [{ticket.reference}]")
    expect(preview.locator("pre.email-text")).to_contain_text("Hello Aiko Tanaka,")
    expect(preview.locator("pre.email-text")).to_contain_text("Japan Time")
    # The HTML, drawn with the email's own style attributes in the sandboxed frame.
    frame = page.frame_locator("iframe.email-html")
    expect(frame.locator("body")).to_contain_text("A new pair ships today, by courier.")
    expect(frame.locator("body")).to_contain_text("Ana Costa")
    drawn = frame.locator("body").evaluate(
        "(body) => [getComputedStyle(body).maxWidth, getComputedStyle(body).lineHeight]"
    )
    assert drawn[0] != "none"  # max-width: 40rem, from the style attribute
    # The form kept what was typed.
    expect(page.get_by_label("Promise")).to_have_value("A new pair ships today, by courier.")
    assert Message.objects.filter(ticket=ticket).count() == written  # nothing written yet
    snapshot(page, "step-commit-preview")

    page.get_by_role("button", name="Commit", exact=True).click()
    expect(page.get_by_text("Commit: done.")).to_be_visible()
    ticket.refresh_from_db()
    assert ticket.status == Status.COMMITTED

    # A reply's preview, on the ticket page, under the same policy.
    form = page.locator("#reply-form")
    form.get_by_label("Message").fill("Hi Aiko, the courier has it now.")
    form.get_by_role("button", name="Preview", exact=True).click()
    preview = page.locator("#email-preview")
    expect(preview.locator("pre.email-text")).to_contain_text("Hi Aiko, the courier has it now.")
    expect(page.frame_locator("iframe.email-html").locator("body")).to_contain_text("Ana Costa")
    expect(page.locator("#reply-form").get_by_label("Message")).to_have_value(
        "Hi Aiko, the courier has it now."
    )
    snapshot(page, "ticket-reply-preview")
    page.locator("#reply-form").get_by_role("button", name="Send to the customer").click()
    expect(page.get_by_text("Reply sent.")).to_be_visible()
    assert Message.objects.filter(ticket=ticket).count() == written + 2
