"""The console in a real browser: headless Chromium from the OS's packages,
driven by Playwright (browser downloads are not possible here, so Playwright's
own builds are never used). ``scripts/test`` installs Chromium when missing."""

from pathlib import Path

from playwright.sync_api import Page

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"


def screenshot(page: Page, name: str, *, folder: Path = SCREENSHOTS) -> Path:
    """Save a full-page screenshot as a test artifact (``folder``/``name``.png)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
