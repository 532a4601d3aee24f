"""axe-core (from npm, served to the page from node_modules by the test, on
the desk's own origin so its Content-Security-Policy lets it run) over every
console page, as a supervisor and as an agent, in the light and the dark
colour scheme, on the demo data: zero serious or critical violations."""

import io
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from playwright.sync_api import Browser, Page, Route

from accounts.models import User
from demo.management.commands.seed_demo import DEMO_PASSWORD
from tickets.models import Kind, Status, Ticket

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
AXE_PATH = "/__tests__/axe.min.js"
# WCAG 2.1 A and AA, as axe tags them.
TAGS = "['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']"
RUN = f"axe.run(document, {{runOnly: {{type: 'tag', values: {TAGS}}}}})"


def console_pages(role: str) -> list[str]:
    mishap = Ticket.objects.filter(kind=Kind.MISHAP).exclude(status=Status.NEW).first()
    new = Ticket.objects.filter(status=Status.NEW).first()
    assert mishap is not None
    assert new is not None
    agent = User.objects.get(username="alex")
    customer_id = mishap.customer_id
    pages = [
        "/console/tickets/ticket/",
        "/console/tickets/ticket/?show=all",
        f"/console/tickets/ticket/{mishap.pk}/change/",
        f"/console/tickets/ticket/{new.pk}/step/acknowledge/",
        "/console/tickets/ticket/add/",
        "/console/customers/",
        f"/console/customers/{customer_id}/",
        "/console/process-fixes/",
        "/console/notifications/",
        "/console/notifications/settings/",
        "/console/password_change/",
    ]
    if role == "supervisor":
        pages += [
            "/console/approvals/",
            "/console/approvals/?status=decided",
            "/console/authority/",
            f"/console/authority/{agent.pk}/",
            "/console/followup-plans/",
            "/console/followup-plans/minor/",
            "/console/dashboard/",
            "/console/saved-replies/",
            "/console/saved-replies/new/",
        ]
    return pages


def serious(page: Page) -> list[str]:
    page.add_script_tag(url=AXE_PATH)
    results: dict[str, Any] = page.evaluate(RUN)
    found = []
    for violation in results["violations"]:
        if violation["impact"] in ("serious", "critical"):
            targets = [
                f"{', '.join(node['target'])} {node.get('failureSummary', '')[:160]!r}"
                for node in violation["nodes"][:3]
            ]
            found.append(
                f"{violation['id']} ({violation['impact']}): {violation['help']} at {targets}"
            )
    return found


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_every_console_page_passes_axe(browser: Browser, live_server: Any, scheme: str) -> None:
    call_command("seed_demo", stdout=io.StringIO())  # some seconds: once per scheme
    base = live_server.url
    problems: dict[str, list[str]] = {}
    for username, role in (("sam", "supervisor"), ("alex", "agent")):
        context = browser.new_context(
            color_scheme=scheme,  # type: ignore[arg-type]
            viewport={"width": 1360, "height": 900},
        )

        def serve_axe(route: Route) -> None:
            route.fulfill(path=str(AXE), content_type="text/javascript")

        context.route(f"{base}{AXE_PATH}", serve_axe)
        page = context.new_page()
        try:
            page.goto(f"{base}/console/login/")
            page.fill("#id_username", username)
            page.fill("#id_password", DEMO_PASSWORD)
            page.click("input[type=submit]")
            page.wait_for_url("**/console/tickets/ticket/**")
            for path in console_pages(role):
                page.goto(f"{base}{path}")
                if found := serious(page):
                    problems[f"{username} {path}"] = found
        finally:
            context.close()

    assert problems == {}, "\n".join(
        f"{where}:\n  " + "\n  ".join(found) for where, found in problems.items()
    )
