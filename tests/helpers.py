"""Helpers the tests share: signed-in clients, the problem-details check,
query counting, the console's ticket URLs, the emails sent, a follow-up's
link paths, today's date, waiting for another thread or process, free ports
(the benchmark's, ``bench.servers.processes``), screenshots, the environment
of a fresh Django process, what a test knows is there (``assignee_of``,
``not_none``), and a follow-up plan's steps as the tests compare them
(``plan_steps``).

Fixtures live in the ``conftest.py`` files, where pytest finds them; the
plain functions live here, so no test imports from a conftest.
"""

import os
import secrets
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

# One free_port for the benchmark's servers and the tests' (tests may import
# bench; bench never imports tests): re-exported here for the tests.
from bench.servers.processes import free_port as free_port
from core.languages import FALLBACK
from helpdesk.api.problems import PROBLEM_CONTENT_TYPE, PROBLEM_TYPES
from recovery.selectors.followup_links import links_for
from recovery.selectors.followup_plans import plan_texts
from tests.factories import TicketFactory, advance
from tickets.models import Kind

if TYPE_CHECKING:
    from playwright.sync_api import Page

    from accounts.models import User
    from recovery.models import FollowUp
    from tickets.models import Ticket

T = TypeVar("T")

BASE_DIR = Path(__file__).resolve().parents[1]
ARTIFACTS = BASE_DIR / "test-artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"
PROBLEM_KEYS = {"type", "title", "status", "detail"}
# The moment the ``clock`` fixture (tests/conftest.py) stops time at.
T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
# The variables a fresh Django process must not inherit from this one (clean_env).
SERVICE_VARS = (
    "DATABASE_URL",
    "REDIS_URL",
    "CELERY_BROKER_URL",
    "EMAIL_URL",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "DEBUG",
    "TIME_ZONE",
    "DEFAULT_CURRENCY",
    "DJANGO_SETTINGS_MODULE",
    "HELPDESK_PUBLIC_URL",
    "DEFAULT_FROM_EMAIL",
    "HELPDESK_EMAIL_DOMAIN",
    # Set by the browser tests for the rest of the session (tests/browser.py);
    # a deployment never has it, and check --deploy warns about it.
    "DJANGO_ALLOW_ASYNC_UNSAFE",
)


def client_for(user: "User") -> APIClient:
    """An API client authenticated as ``user``."""
    client = APIClient()
    client.force_authenticate(user)
    return client


def console_client(user: "User") -> Client:
    """A browser-like client signed in as ``user`` (the console, the admin site)."""
    client = Client()
    client.force_login(user)
    return client


def assert_problem(response: Any, status: int, slug: str) -> dict[str, Any]:
    """The response is an RFC 9457 problem of type ``slug``; returns its body."""
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM_CONTENT_TYPE
    body: dict[str, Any] = response.json()
    assert set(body) >= PROBLEM_KEYS
    assert body["status"] == status
    assert body["type"] == f"/problems/{slug}/"
    assert body["title"] == PROBLEM_TYPES[slug].title
    assert isinstance(body["detail"], str)
    assert body["detail"]
    return body


def count_queries(client: Client, url: str, params: dict[str, str] | None = None) -> int:
    """The number of queries a successful GET of ``url`` costs."""
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url, params or {}).status_code == 200
    return len(queries)


def ticket_page(ticket: "Ticket") -> str:
    """The console's page of ``ticket``."""
    return reverse("console:tickets_ticket_change", args=[ticket.pk])


def ticket_step(ticket: "Ticket", name: str) -> str:
    """The console's form for step ``name`` of ``ticket``."""
    return reverse("console:ticket_step", args=[ticket.pk, name])


def today(zone: str | None = None) -> date:
    """Today's date in time zone ``zone``; without one, in the current time
    zone (``TIME_ZONE`` unless a test activated another)."""
    return timezone.localdate(timezone=ZoneInfo(zone) if zone else None)


def link_path(url: str) -> str:
    """The path of an absolute link (a follow-up's), for the test client."""
    return urlsplit(url).path


def unsubscribe_url(followup: "FollowUp") -> str:
    """The path of ``followup``'s one-click unsubscribe link."""
    return link_path(links_for(followup).unsubscribe)


def html_of(email: EmailMultiAlternatives) -> str:
    """The HTML part of a sent email (it has exactly one)."""
    [(html, mimetype)] = email.alternatives
    assert mimetype == "text/html"
    return str(html)


def wait_for(
    check: Callable[[], T],
    *,
    timeout: float = 15.0,
    what: str = "condition",
    interval: float = 0.1,
    details: Callable[[], str] = lambda: "",
    alive: Callable[[], bool] = lambda: True,
) -> T:
    """Call ``check`` until it returns something true, and return that; fail
    after ``timeout`` seconds, or as soon as ``alive`` says the process that
    should bring it about has died."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline or not alive():
            reason = "gave up" if alive() else "process died"
            raise AssertionError(f"{what}: not reached within {timeout} s ({reason})\n{details()}")
        time.sleep(interval)


def screenshot(page: "Page", name: str, *, folder: Path = SCREENSHOTS) -> Path:
    """Save a full-page screenshot as a test artifact (``folder``/``name``.png)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def clean_env(tmp_path: Path, module: str, **extra: str) -> dict[str, str]:
    """The environment of a fresh Django process on settings ``module``, with
    none of the services this one was given."""
    env = {k: v for k, v in os.environ.items() if k not in SERVICE_VARS}
    env.update(DJANGO_SETTINGS_MODULE=module, HELPDESK_VAR_DIR=str(tmp_path / "var"), **extra)
    return env


def production_env(tmp_path: Path, **overrides: str) -> dict[str, str]:
    """``clean_env`` for production settings, with every variable they need."""
    values = {
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "desk.example.com",
        "DATABASE_URL": "postgres://helpdesk:pw@db.internal:5432/helpdesk",
        "REDIS_URL": "redis://cache.internal:6379/0",
        "EMAIL_URL": "smtp+tls://mailer:pw@smtp.example.com:587",
        "HELPDESK_PUBLIC_URL": "https://desk.example.com",
        "DEFAULT_FROM_EMAIL": "Desk <help@desk.example.com>",
    }
    values.update(overrides)
    return clean_env(tmp_path, "helpdesk.settings.production", **values)


def assignee_of(ticket: "Ticket") -> "User":
    """The ticket's assignee: the factories make the opener one, so a test that
    acts as them knows there is one."""
    assert ticket.assignee is not None
    return ticket.assignee


def not_none(value: T | None) -> T:
    """``value``, which the test expects to be there (a row's ``first()``, an
    email's body part, a match)."""
    assert value is not None
    return value


def sent_emails() -> list[EmailMultiAlternatives]:
    """Django's test outbox, every email in it with an HTML part (the desk's
    customer emails all have one)."""
    emails = [email for email in mail.outbox if isinstance(email, EmailMultiAlternatives)]
    assert len(emails) == len(mail.outbox), mail.outbox
    return emails


def rebuilding_mishap(zone: str = "Europe/Berlin", **kwargs: Any) -> "Ticket":
    """A mishap walked to rebuilding, where its follow-ups are scheduled, its
    customer in time zone ``zone``."""
    ticket = TicketFactory(kind=Kind.MISHAP, **kwargs)
    ticket.customer.time_zone = zone
    ticket.customer.save(update_fields=["time_zone"])
    return advance(ticket, to="rebuilding")


def plan_steps(severity: str) -> list[tuple[int, str, str]]:
    """The steps of the mishap plan for ``severity``, in English, as (day,
    subject, body): what a test compares before and after a change."""
    return [(t.offset_days, t.subject, t.body) for t in plan_texts(severity, FALLBACK)]
