"""The console in a real browser: headless Chromium from the OS's packages,
driven by Playwright (browser downloads are not possible here, so Playwright's
own builds are never used). ``scripts/test`` installs Chromium when missing."""

from pathlib import Path

from playwright.sync_api import Page

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


def screenshot(page: Page, name: str) -> None:
    """Save a full-page screenshot as a test artifact."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
