"""The dashboard in a real browser (the OS's headless Chromium): Chart.js loads
from our own static files and draws every chart, with no error and no request
to another host."""

from typing import Any

import pytest
from playwright.sync_api import Page

from accounts.roles import Role
from tests.factories import TEST_PASSWORD, StaffFactory
from tests.recovery.desk_history import mishap_with_grant


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_charts_are_drawn_in_a_browser(live_server: Any, page: Page) -> None:
    supervisor = StaffFactory(role=Role.SUPERVISOR, username="sam")
    agent = StaffFactory(role=Role.AGENT, username="casey")
    mishap_with_grant(agent, "20.00", kind="refund", rating=5)
    mishap_with_grant(agent, "10.00", kind="gift", rating=2)
    problems: list[str] = []

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

    assert sorted(drawn) == [
        ["chart-budget", True, True],
        ["chart-kinds", True, True],
        ["chart-ratings", True, True],
        ["chart-series", True, True],
        ["chart-word", True, True],
    ]
    assert problems == []
