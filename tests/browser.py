"""The OS's Chromium, as every browser test starts it (Playwright's own builds
cannot be downloaded here; scripts/test installs Debian's package)."""

import contextlib
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connection
from playwright.sync_api import Browser, Page, sync_playwright
from playwright.sync_api import Error as PlaywrightError

CHROMIUM = os.environ.get("HELPDESK_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        pytest.fail(
            f"Chromium is not installed at {CHROMIUM}: "
            "run scripts/test, or apt-get install chromium"
        )
    # Playwright runs an event loop in this thread until the session ends;
    # Django's ORM, called from the tests, would refuse to run beside it
    # otherwise. It stays set for the rest of the session (test_settings keeps
    # it out of the deployment checks' environment).
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


# Runs in every document before its own scripts: each Content-Security-Policy
# violation is kept on the page (window.__cspViolations, for a test to read)
# and reported to the test at once, so none is lost when the page navigates.
CSP_LISTENER = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  const violation = `${event.effectiveDirective} refused ${event.blockedURI || "inline"}`
    + ` on ${event.documentURI} (${event.sourceFile || "?"}:${event.lineNumber})`;
  window.__cspViolations.push(violation);
  window.__reportCspViolation(violation);
});
"""


@pytest.fixture
def csp_violations() -> list[str]:
    """What the browser refused under our Content-Security-Policy during the test."""
    return []


@pytest.fixture
def page(browser: Browser, csp_violations: list[str]) -> Iterator[Page]:
    context = browser.new_context(
        viewport={"width": 1360, "height": 900}, locale="en-US", reduced_motion="reduce"
    )

    def report(violation: str) -> None:
        csp_violations.append(violation)

    context.expose_function("__reportCspViolation", report)
    context.add_init_script(CSP_LISTENER)
    page = context.new_page()
    # Chromium also says so in the console, also for what no event reports.
    page.on(
        "console",
        lambda message: (
            csp_violations.append(message.text)
            if "Content Security Policy" in message.text
            else None
        ),
    )
    page.set_default_timeout(15_000)
    yield page
    # Reports still on their way from the last page arrive with this round trip.
    with contextlib.suppress(PlaywrightError):
        page.evaluate("() => window.__cspViolations")
    context.close()
    _wait_for_the_servers_requests()
    assert not csp_violations, "Content-Security-Policy violations:\n" + "\n".join(csp_violations)


# Requests of the closed page that the live server is still answering: each
# one in a transaction of its own on the test database, not in this thread.
_BUSY_SESSIONS = """
SELECT count(*) FROM pg_stat_activity
WHERE datname = current_database() AND pid <> pg_backend_pid()
  AND backend_type = 'client backend' AND state IN ('active', 'idle in transaction')
"""


def _wait_for_the_servers_requests(timeout: float = 10.0) -> None:
    """Let the live server finish what the page last asked (a console page's
    poll, a heartbeat) before the test's teardown empties the tables: its
    TRUNCATE and a request still writing wait for each other's locks, and
    PostgreSQL ends the deadlock by failing the teardown. Bounded: a request
    still running after ``timeout`` is the test's own failure to show."""
    if connection.vendor != "postgresql" or connection.connection is None:
        return  # this test never opened the database: nothing to clear
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute(_BUSY_SESSIONS)
            (busy,) = cursor.fetchone()
        if busy == 0:
            return
        time.sleep(0.05)
