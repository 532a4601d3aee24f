"""The customer's case page and the contact form in headless Chromium, under
the real Content-Security-Policy (the ``page`` fixture fails the test on any
violation), at desktop and phone widths, in English and Portuguese, with
axe-core: zero serious or critical violations."""

from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.utils import timezone
from playwright.sync_api import Page, Route, expect

from accounts.models import User
from recovery.models import FollowUp, RestitutionKind
from recovery.services.restitutions import restitution_grant
from tests.e2e.test_accessibility import AXE, AXE_PATH, serious
from tests.factories import TicketFactory, advance, give_authority
from tests.helpers import assignee_of, not_none, screenshot
from tickets.case_links import case_url
from tickets.models import Kind, Status, Ticket
from tickets.services import message_create, ticket_commit, ticket_resolve

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

NOTE_WORD = "Quokkaplume"
PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1360, "height": 900}


def a_recovered_case(locale: str) -> Ticket:
    """A mishap put right: acknowledged, apologized, promised, a gift granted,
    resolved and followed up once (which asks for a rating)."""
    ticket = advance(
        TicketFactory(kind=Kind.MISHAP, subject="The blender arrived broken"), "apologized"
    )
    customer = ticket.customer
    customer.locale, customer.time_zone = locale, "America/Sao_Paulo"
    customer.save()
    give_authority(assignee_of(ticket), kinds=["gift"])
    ticket = ticket_commit(
        ticket=ticket,
        actor=assignee_of(ticket),
        promise="A new blender leaves our warehouse tomorrow, by courier.",
        due_at=timezone.now() + timedelta(days=2),
    )
    restitution_grant(
        ticket=ticket,
        actor=assignee_of(ticket),
        kind=RestitutionKind.GIFT,
        amount="25.00",
        currency="USD",
        reason="For the trouble.",
    )
    message_create(
        ticket=ticket,
        actor=assignee_of(ticket),
        body=f"{NOTE_WORD}: courier is slow.",
        public=False,
    )
    ticket = ticket_resolve(ticket=ticket, actor=assignee_of(ticket), message="It left today.")
    first = ticket.followups.order_by("due_at").first()
    assert first is not None
    FollowUp.objects.filter(pk=first.pk).update(status="sent", sent_at=timezone.now())
    return ticket


def with_axe(page: Page, base: str) -> None:
    def serve(route: Route) -> None:
        route.fulfill(path=str(AXE), content_type="text/javascript")

    page.route(f"{base}{AXE_PATH}", serve)


@pytest.mark.parametrize(
    ("locale", "status_words", "promise_title"),
    [
        ("en", "Put right; we will check in on", "What we promised"),
        ("pt-BR", "Resolvido; em", "O que prometemos"),
    ],
)
def test_the_case_page_at_desktop_and_phone_widths(
    live_server: Any, page: Page, locale: str, status_words: str, promise_title: str
) -> None:
    ticket = a_recovered_case(locale)
    base = live_server.url
    with_axe(page, base)
    path = urlsplit(case_url(ticket)).path
    for width, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(viewport)  # type: ignore[arg-type]
        page.goto(f"{base}{path}")
        expect(page.locator("html")).to_have_attribute("lang", locale)
        expect(page.get_by_text(status_words)).to_be_visible()
        expect(page.get_by_role("heading", name=promise_title)).to_be_visible()
        promised = page.get_by_role("region", name=promise_title)
        expect(promised.get_by_text("A new blender leaves our warehouse")).to_be_visible()
        assert NOTE_WORD not in page.content()
        # Nothing wider than the screen: the phone reads it without scrolling sideways.
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
        assert serious(page) == [], f"{locale} {width}"
        screenshot(page, f"case-{locale}-{width}")


def test_the_customer_answers_from_the_page_and_the_ticket_reopens(
    live_server: Any, page: Page
) -> None:
    ticket = a_recovered_case("en")
    page.goto(f"{live_server.url}{urlsplit(case_url(ticket)).path}")
    page.get_by_label("Your message").fill("The new one is cracked too, I am afraid.")
    page.get_by_role("button", name="Send").first.click()
    expect(page.get_by_text("Your message has reached us.")).to_be_visible()
    expect(page.get_by_text("The new one is cracked too")).to_be_visible()
    ticket.refresh_from_db()
    assert ticket.status not in (Status.RESOLVED, Status.REBUILDING)
    assert not_none(ticket.messages.order_by("-id").first()).body.startswith(
        "The new one is cracked"
    )
    screenshot(page, "case-after-reply")


def test_the_contact_form_as_a_person_fills_it(live_server: Any, page: Page, settings: Any) -> None:
    settings.HELPDESK_CONTACT_MIN_SECONDS = 1
    base = live_server.url
    with_axe(page, base)
    page.set_viewport_size(PHONE)  # type: ignore[arg-type]
    page.goto(f"{base}/contact/")
    assert serious(page) == []
    page.get_by_label("Your name").fill("Ana Costa")
    page.get_by_label("Your email address").fill("ana@example.com")
    page.get_by_label("Subject").fill("My order never came")
    page.get_by_label("Your message").fill("Ordered on Monday, nothing yet.")
    screenshot(page, "contact-form-phone")
    page.wait_for_timeout(1100)
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_role("heading", name="Thank you")).to_be_visible()
    ticket = Ticket.objects.get()
    assert ticket.subject == "My order never came"
    assert ticket.customer.time_zone  # the browser's zone, from the page's script
    assert User.objects.filter(pk=ticket.assignee_id).count() == 0
