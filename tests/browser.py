"""The OS's Chromium, as every browser test starts it (Playwright's own builds
cannot be downloaded here; scripts/test installs Debian's package)."""

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
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
    assert not csp_violations, "Content-Security-Policy violations:\n" + "\n".join(csp_violations)
