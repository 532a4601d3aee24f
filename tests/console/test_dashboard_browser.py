"""The dashboard in a real browser (the OS's headless Chromium): Chart.js loads
from our own static files and draws every chart, with no error and no request
to another host."""

from typing import Any

import pytest
from playwright.sync_api import sync_playwright

from accounts.roles import Role
from tests.browser import CHROMIUM, CHROMIUM_ARGS
from tests.console.test_dashboard import mishap_with_grant
from tests.factories import TEST_PASSWORD, StaffFactory


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_charts_are_drawn_in_a_browser(live_server: Any, monkeypatch: Any) -> None:
    supervisor = StaffFactory(role=Role.SUPERVISOR, username="sam")
    agent = StaffFactory(role=Role.AGENT, username="casey")
    mishap_with_grant(agent, "20.00", kind="refund", rating=5)
    mishap_with_grant(agent, "10.00", kind="gift", rating=2)
    # Playwright's sync API runs an event loop in this thread; the ORM work
    # is done above, and the live server answers from its own thread.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    problems: list[str] = []

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
        page.on(
            "console",
            lambda message: (
                problems.append(f"{message.text} {message.location.get('url', '')}")
                # The desk has no favicon yet; the browser's guess is not the page's fault.
                if message.type == "error"
                and not message.location.get("url", "").endswith("/favicon.ico")
                else None
            ),
        )
        page.on(
            "request",
            lambda request: (
                None
                if request.url.startswith(live_server.url)
                else problems.append(f"request to another host: {request.url}")
            ),
        )
        page.goto(f"{live_server.url}/console/login/?next=/console/dashboard/")
        page.fill("#id_username", supervisor.username)
        page.fill("#id_password", TEST_PASSWORD)
        page.click("input[type=submit]")
        page.wait_for_url("**/console/dashboard/")
        page.wait_for_function("() => typeof Chart !== 'undefined'", timeout=10_000)

        drawn = page.evaluate(
            """() => [...document.querySelectorAll('canvas')].map(
                (canvas) => [canvas.id, Chart.getChart(canvas) !== undefined, canvas.width > 0])"""
        )
        browser.close()

    assert sorted(drawn) == [
        ["chart-budget", True, True],
        ["chart-kinds", True, True],
        ["chart-ratings", True, True],
        ["chart-series", True, True],
        ["chart-word", True, True],
    ]
    assert problems == []
