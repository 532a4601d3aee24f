"""The pages outside the console in headless Chromium, under the real
Content-Security-Policy: the API docs render and a customer can rate us, with
not one violation (the ``page`` fixture fails a test on any, tests/browser.py)."""

from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, expect

from accounts.models import User
from inbound.services import inbound_receive
from recovery.selectors.followup_links import links_for
from tests.factories import TEST_PASSWORD, TicketFactory, advance
from tests.helpers import not_none
from tickets.models import Kind

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_the_listener_catches_what_the_policy_refuses(
    live_server: Any, page: Page, csp_violations: list[str]
) -> None:
    # An injected inline script and style, as an attacker's would be: refused and reported.
    page.goto(f"{live_server.url}/problems/not-found/")
    page.evaluate(
        """() => {
            const script = document.createElement("script");
            script.textContent = "window.injected = true";
            document.head.append(script);
            const style = document.createElement("style");
            style.textContent = "body { background: red; }";
            document.head.append(style);
        }"""
    )
    page.wait_for_function("() => window.__cspViolations.length >= 2")

    assert page.evaluate("() => window.injected") is None
    assert any("script-src-elem refused inline" in v for v in csp_violations), csp_violations
    assert any("style-src-elem refused inline" in v for v in csp_violations), csp_violations
    csp_violations.clear()  # seen and expected: the fixture's own check must not fail


def requests_elsewhere(page: Page, origin: str) -> list[str]:
    """Every request the page makes to another host, as the test goes on."""
    elsewhere: list[str] = []
    page.on(
        "request",
        lambda request: (
            None
            if request.url.startswith((origin, "blob:", "data:"))
            else elsewhere.append(request.url)
        ),
    )
    return elsewhere


def test_swagger_ui_renders_the_operations(live_server: Any, page: Page) -> None:
    elsewhere = requests_elsewhere(page, live_server.url)

    page.goto(f"{live_server.url}/api/docs/")

    expect(page.locator(".opblock").first).to_be_visible()
    assert page.locator(".opblock").count() > 20
    expect(page.get_by_text("/api/v1/tickets/", exact=True).first).to_be_visible()
    assert elsewhere == []


def test_swagger_ui_tries_an_operation_out(live_server: Any, page: Page) -> None:
    page.goto(f"{live_server.url}/api/docs/")
    operation = page.locator("#operations-tickets-tickets_list")
    operation.locator(".opblock-summary").click()
    operation.get_by_role("button", name="Try it out").click()
    operation.get_by_role("button", name="Execute").click()

    # The request went out (connect-src 'self') and its answer is shown: not signed in.
    expect(operation.locator(".live-responses-table tbody .response-col_status")).to_have_text(
        "401"
    )


def test_the_browsable_api_of_a_signed_in_agent(live_server: Any, page: Page, agent: User) -> None:
    page.goto(f"{live_server.url}/console/login/")
    page.fill("#id_username", agent.username)
    page.fill("#id_password", TEST_PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url("**/console/**")

    page.goto(f"{live_server.url}/api/v1/tickets/")

    expect(page.get_by_role("heading", name="Ticket List")).to_be_visible()
    expect(page.locator(".response-info")).to_contain_text("HTTP 200 OK")


def test_djangos_admin_under_the_policy(live_server: Any, page: Page, admin_staff: User) -> None:
    # A superuser sees every page and action whatever the roles allow.
    admin_staff.is_superuser = True
    admin_staff.save(update_fields=["is_superuser"])
    ticket = TicketFactory()
    inbound_receive(
        raw=b"From: a@example.com\r\nSubject: Hi\r\nMessage-ID: <hi@example.com>\r\n\r\nHi\r\n",
        source="api",
    )
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", admin_staff.username)
    page.fill("#id_password", TEST_PASSWORD)
    page.click("input[type=submit]")
    expect(page.locator("#site-name")).to_be_visible()

    # A change list with actions (its scripts tick every row), a change form
    # with the admin's widgets, an add form.
    page.goto(f"{live_server.url}/admin/inbound/inboundemail/")
    page.locator("#action-toggle").check()
    expect(page.locator(".action-counter")).to_contain_text("selected")
    page.goto(f"{live_server.url}/admin/tickets/ticket/{ticket.pk}/change/")
    expect(page.locator("#content h1")).to_be_visible()
    page.goto(f"{live_server.url}/admin/tickets/queue/add/")
    expect(page.locator("#queue_form")).to_be_visible()
    page.goto(f"{live_server.url}/admin/accounts/user/add/")
    expect(page.locator("#user_form")).to_be_visible()


def test_redoc_renders_the_operations(live_server: Any, page: Page) -> None:
    elsewhere = requests_elsewhere(page, live_server.url)

    page.goto(f"{live_server.url}/api/redoc/")

    expect(page.get_by_role("heading", name="Service recovery helpdesk API")).to_be_visible()
    expect(page.locator("[data-section-id^='operation/']").first).to_be_attached()
    # Styled by its styled-components <style> elements, which carry the nonce.
    assert page.evaluate("() => document.querySelectorAll('style[data-styled]').length") > 0
    assert elsewhere == []


def test_a_customer_rates_us_under_the_policy(live_server: Any, page: Page) -> None:
    ticket = advance(TicketFactory(kind=Kind.MISHAP), to="rebuilding")
    path = urlsplit(links_for(not_none(ticket.followups.first())).feedback).path

    page.goto(f"{live_server.url}{path}")
    # Styled by its stylesheet (recovery/public.css), which the policy lets through.
    assert page.evaluate("() => getComputedStyle(document.body).maxWidth") == "544px"
    page.locator("input[name=rating][value='4']").check()
    page.get_by_role("button", name="Send").click()

    expect(page.get_by_text("Thank you")).to_be_visible()
