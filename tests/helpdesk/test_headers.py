"""Every kind of response carries the security headers (SPEC: "Every page and
response carries a strict Content-Security-Policy"), and no HTML page holds
what that policy would refuse: an inline script, a <style> block, a style=."""

import re
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from rest_framework.authtoken.models import Token

from accounts.models import User
from recovery.selectors.followup_links import links_for
from tests.factories import TicketFactory, advance
from tests.helpers import console_client, not_none
from tickets.models import Kind, Ticket

pytestmark = pytest.mark.django_db

STRICT = {
    "default-src": {"'self'"},
    "script-src": {"'self'"},
    "style-src": {"'self'"},
    "img-src": {"'self'", "data:"},
    "font-src": {"'self'"},
    "connect-src": {"'self'"},
    "object-src": {"'none'"},
    "base-uri": {"'self'"},
    "form-action": {"'self'"},
    "frame-ancestors": {"'none'"},
}
# What would let an injected script or style run: never, on any page.
UNSAFE = ("'unsafe-inline'", "'unsafe-eval'", "'unsafe-hashes'", "*", "http:", "https:")

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>")
INLINE_STYLE = re.compile(r"<style\b|\sstyle=", re.IGNORECASE)


def policy(header: str) -> dict[str, set[str]]:
    directives = (part.split() for part in header.split(";") if part.strip())
    return {name: set(sources) for name, *sources in directives}


def assert_headers(response: object, url: str, *, page_policy: dict[str, set[str]]) -> None:
    headers = response.headers  # type: ignore[attr-defined]
    assert "Content-Security-Policy" in headers, url
    csp = policy(headers["Content-Security-Policy"])
    assert csp == page_policy, url
    assert not any(source in UNSAFE for sources in csp.values() for source in sources), url
    assert headers["Referrer-Policy"] == "same-origin", url
    features = dict(item.strip().split("=", 1) for item in headers["Permissions-Policy"].split(","))
    for feature in ("camera", "microphone", "geolocation", "payment", "usb"):
        assert features[feature] == "()", (url, feature)
    if headers.get("Content-Type", "").startswith("text/html"):
        html = response.content.decode()  # type: ignore[attr-defined]
        assert not INLINE_SCRIPT.search(html), (url, INLINE_SCRIPT.search(html))
        assert not INLINE_STYLE.search(html), (url, INLINE_STYLE.search(html))


def followup_links() -> tuple[str, str, str]:
    """The chooser, a one-click rating and the unsubscribe link of a follow-up."""
    ticket = advance(TicketFactory(kind=Kind.MISHAP), to="rebuilding")
    links = links_for(not_none(ticket.followups.first()))
    rating = links.ratings[0][1]
    return urlsplit(links.feedback).path, urlsplit(rating).path, urlsplit(links.unsubscribe).path


def walk(client: Client, urls: list[str], expected: dict[str, int], accept: str = "*/*") -> None:
    for url in urls:
        response = client.get(url, headers={"Accept": accept})
        assert response.status_code == expected.get(url, 200), (url, response.status_code)
        assert_headers(response, url, page_policy=STRICT)


def test_console_pages_of_an_agent(agent: User) -> None:
    ticket = advance(TicketFactory(kind=Kind.MISHAP, assignee=agent), to="committed")
    urls = [
        reverse("console:index"),
        reverse("console:tickets_ticket_changelist"),
        reverse("console:tickets_ticket_changelist") + "?status=new",
        reverse("console:tickets_ticket_add"),
        reverse("console:tickets_ticket_change", args=[ticket.pk]),
        reverse("console:ticket_step", args=[ticket.pk, "resolve"]),
        reverse("console:customers"),
        reverse("console:customer", args=[ticket.customer_id]),
        # A supervisors' page: refused, with the headers all the same.
        reverse("console:dashboard"),
    ]
    walk(
        console_client(agent),
        urls,
        expected={reverse("console:index"): 302, reverse("console:dashboard"): 403},
    )


def test_console_pages_of_a_supervisor(supervisor: User) -> None:
    ticket: Ticket = advance(TicketFactory(kind=Kind.MISHAP), to="rebuilding")
    urls = [
        reverse("console:tickets_ticket_changelist"),
        reverse("console:tickets_ticket_change", args=[ticket.pk]),
        reverse("console:approvals"),
        reverse("console:authority"),
        reverse("console:followup_plans"),
        reverse("console:followup_plan_edit", args=["critical"]),
        reverse("console:process_fixes"),
        reverse("console:dashboard"),
        reverse("console:dashboard") + "export.csv",
    ]
    walk(console_client(supervisor), urls, expected={})


def test_sign_in_pages_and_djangos_admin(admin_staff: User) -> None:
    walk(Client(), [reverse("console:login"), reverse("admin:login")], expected={})
    walk(
        console_client(admin_staff),
        [
            reverse("admin:index"),
            reverse("admin:accounts_user_changelist"),
            reverse("admin:tickets_ticket_changelist"),
            reverse("admin:tickets_queue_add"),
        ],
        expected={},
    )


def test_the_api_its_problems_and_its_docs(agent: User) -> None:
    token = Token.objects.create(user=agent)
    signed_in = Client(headers={"Authorization": f"Token {token.key}"})
    walk(
        signed_in,
        ["/api/v1/tickets/", "/api/v1/authority/me/", "/api/v1/tickets/999999/"],
        expected={"/api/v1/tickets/999999/": 404},
    )
    # The browsable API, as a browser signed in to the console sees it.
    walk(
        console_client(agent),
        ["/api/v1/tickets/", "/api/v1/authority/me/"],
        expected={},
        accept="text/html",
    )
    # A malformed body: a 400 problem from a POST.
    response = signed_in.post("/api/v1/tickets/", "{", content_type="application/json")
    assert response.status_code == 400
    assert_headers(response, "POST /api/v1/tickets/", page_policy=STRICT)

    walk(
        Client(),
        ["/api/v1/tickets/", "/api/schema/", "/api/docs/", "/api/docs/?script", "/healthz"],
        expected={"/api/v1/tickets/": 401},
    )
    # The one page with more: Redoc's <style> elements by nonce and hash, its search worker.
    response = Client().get("/api/redoc/")
    assert response.status_code == 200
    csp = policy(response["Content-Security-Policy"])
    nonce = re.search(r'nonce="([^"]+)"', response.content.decode())
    assert nonce is not None
    assert f"'nonce-{nonce.group(1)}'" in csp["style-src"]
    redoc_policy = {**STRICT, "style-src": csp["style-src"], "worker-src": {"'self'", "blob:"}}
    assert_headers(response, "/api/redoc/", page_policy=redoc_policy)


def test_plain_pages_errors_and_the_customers_pages() -> None:
    feedback, rating, unsubscribe = followup_links()
    urls = [
        "/problems/not-found/",
        "/problems/no-such-problem/",
        "/no-such-page/",
        feedback,
        unsubscribe,
        rating,  # records the rating: the thank-you page with its comment box
        feedback,  # now the same thank-you page
        "/feedback/not-a-signed-token/",
        "/unsubscribe/not-a-signed-token/",
    ]
    walk(
        Client(),
        urls,
        expected={
            "/problems/no-such-problem/": 404,
            "/no-such-page/": 404,
            "/feedback/not-a-signed-token/": 400,
            "/unsubscribe/not-a-signed-token/": 400,
        },
    )


def test_the_customers_pages_after_they_act() -> None:
    _, rating, unsubscribe = followup_links()
    client = Client()
    responses = {
        "rating sent": client.post(rating, {"revise": "1", "rating": "4", "comment": "Fine."}),
        "rating refused": client.post(rating, {"revise": "1", "rating": "9"}),
        "unsubscribed": client.post(unsubscribe),
        "unsubscribed, with undo": client.get(unsubscribe),
        "resubscribed": client.post(f"{unsubscribe}undo/"),
    }
    for name, response in responses.items():
        assert response.status_code == (400 if name == "rating refused" else 200), name
        assert_headers(response, name, page_policy=STRICT)


def test_the_policy_is_the_settings_policy() -> None:
    # The tests above hold every page to STRICT: the same policy as configured.
    configured = settings.CONTENT_SECURITY_POLICY["DIRECTIVES"]
    assert {name: set(sources) for name, sources in configured.items()} == STRICT


def test_the_lockout_and_throttled_pages(agent: User) -> None:
    for _ in range(settings.AXES_FAILURE_LIMIT):
        Client().post("/console/login/", {"username": agent.username, "password": "wrong"})
    locked = Client().post("/console/login/", {"username": agent.username, "password": "x"})
    assert locked.status_code == 429
    assert_headers(locked, "lockout", page_policy=STRICT)

    browser = Client(headers={"Accept": "text/html"})
    for _ in range(100):
        throttled = browser.get("/feedback/not-a-token/")
        if throttled.status_code == 429:
            break
    assert throttled.status_code == 429
    assert_headers(throttled, "throttled", page_policy=STRICT)
