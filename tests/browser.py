"""The OS's Chromium, as every browser test starts it (Playwright's own builds
cannot be downloaded here; scripts/test installs Debian's package)."""

import os

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
