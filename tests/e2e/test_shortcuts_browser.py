"""Keyboard shortcuts and both colour schemes, in headless Chromium: "?"
lists the shortcuts, j/k/o walk the queue, r and n open the message box,
u goes back, j on a ticket goes to the next one; an internal note is
readable in the dark scheme as in the light."""

import pytest
from playwright.sync_api import Browser, Page, expect

from accounts.roles import Role
from tests.e2e.test_console_journey import sign_in
from tests.factories import StaffFactory, TicketFactory
from tests.helpers import screenshot
from tickets.models import Severity
from tickets.services import message_create

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

# WCAG's relative luminance and contrast ratio, computed in the page.
CONTRAST = """(element) => {
  const rgb = (value) => value.match(/[\\d.]+/g).slice(0, 3).map(Number);
  const lum = ([r, g, b]) => {
    const c = [r, g, b].map((v) => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
  };
  const style = getComputedStyle(element);
  const [a, b] = [lum(rgb(style.color)), lum(rgb(style.backgroundColor))];
  return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
}"""


def test_the_keyboard_walks_the_queue_and_the_ticket(page: Page, live_server: object) -> None:
    base = live_server.url  # type: ignore[attr-defined]
    agent = StaffFactory(role=Role.AGENT, username="alex")
    first = TicketFactory(actor=agent, subject="First, critical", severity=Severity.CRITICAL)
    second = TicketFactory(actor=agent, subject="Second, major", severity=Severity.MAJOR)
    TicketFactory(actor=agent, subject="Third, minor")

    sign_in(page, base, agent)
    # The shortcuts' script is deferred: a page can show before it listens.
    page.wait_for_load_state("load")
    page.keyboard.press("?")
    expect(page.get_by_role("dialog", name="Keyboard shortcuts")).to_be_visible()
    screenshot(page, "shortcuts-01-overlay")
    page.keyboard.press("Escape")

    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("o")
    expect(page.get_by_role("heading", name=f"{second.reference} · Second, major")).to_be_visible()
    page.wait_for_load_state("load")
    page.keyboard.press("k")
    expect(page.get_by_role("heading", name=f"{first.reference} · First, critical")).to_be_visible()
    page.wait_for_load_state("load")

    page.keyboard.press("r")
    expect(page.locator("#reply-form textarea[name=body]")).to_be_focused()
    page.keyboard.type("j and k are typed here, not obeyed")
    expect(page.get_by_role("heading", name=f"{first.reference} · First, critical")).to_be_visible()
    page.locator("#reply-form textarea[name=body]").fill("")
    page.locator("body").click()
    page.keyboard.press("u")
    expect(page.get_by_role("heading", name="Queue")).to_be_visible()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_an_internal_note_is_readable_in_both_schemes(
    browser: Browser, live_server: object, scheme: str
) -> None:
    base = live_server.url  # type: ignore[attr-defined]
    agent = StaffFactory(role=Role.AGENT, username=f"alex-{scheme}")
    ticket = TicketFactory(actor=agent)
    message_create(ticket=ticket, actor=agent, body="Do not promise a second refund.", public=False)
    context = browser.new_context(color_scheme=scheme)  # type: ignore[arg-type]
    page = context.new_page()
    try:
        sign_in(page, base, agent)
        page.goto(f"{base}/console/tickets/ticket/{ticket.pk}/change/")
        note = page.locator(".message.note").first
        expect(note).to_contain_text("Do not promise a second refund.")

        ratio = note.evaluate(CONTRAST)

        screenshot(page, f"looks-note-{scheme}")
        assert ratio >= 4.5, f"{scheme}: {ratio:.2f}:1"
    finally:
        context.close()
