"""The MTA pipe: ``manage.py ingest_email`` as a real process, with real
standard input and exit statuses, on the test database."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from accounts.models import User
from inbound.models import InboundEmail
from tests.inbound.mail import raw_email
from tickets.models import Message, Status, Ticket, TicketEvent
from tickets.services import ticket_acknowledge

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]


def manage(
    *args: str, stdin: bytes = b"", checkout: Path = ROOT, **env: str
) -> subprocess.CompletedProcess[bytes]:
    db = connection.settings_dict
    database_url = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    return subprocess.run(  # noqa: S603 - our own interpreter and manage.py
        [sys.executable, "manage.py", *args],
        input=stdin,
        capture_output=True,
        cwd=checkout,
        timeout=60,
        check=False,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "helpdesk.settings.test",
            "DATABASE_URL": database_url,
            **env,
        },
    )


def pipe(raw: bytes, **env: str) -> subprocess.CompletedProcess[bytes]:
    return manage("ingest_email", stdin=raw, checkout=ROOT, **env)


@pytest.fixture(scope="module")
def checkout_without_node_modules(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of this checkout as a clone is before `npm ci`, without
    node_modules: STATICFILES_DIRS names a directory that is not there."""
    copy = tmp_path_factory.mktemp("checkout") / "desk"
    shutil.copytree(
        ROOT,
        copy,
        symlinks=True,
        ignore=shutil.ignore_patterns(
            ".git", ".venv", "node_modules", "var", "staticfiles", "test-artifacts", ".*_cache"
        ),
    )
    return copy


def test_a_piped_email_opens_a_ticket_and_the_reply_joins_it(agent: User) -> None:
    opened = pipe(raw_email(sender="pat@example.com", body="Where is my parcel?"))

    assert opened.returncode == 0, opened.stderr
    ticket = Ticket.objects.get()
    ticket.assignee = agent  # a supervisor's job, done here by hand
    ticket.save(update_fields=["assignee"])
    ticket = ticket_acknowledge(ticket=ticket, actor=agent, message="We are looking for it.")
    ours = ticket.messages.get(step="acknowledge")

    replied = pipe(
        raw_email(
            sender="pat@example.com",
            subject=f"Re: [{ticket.reference}] My order never came",
            body="Thank you!",
            in_reply_to=ours.email_message_id,
        )
    )

    assert replied.returncode == 0, replied.stderr
    assert Ticket.objects.count() == 1
    assert list(ticket.messages.order_by("id").values_list("body", flat=True)) == [
        "Where is my parcel?",
        "We are looking for it.",
        "Thank you!",
    ]


def test_an_out_of_office_reply_changes_nothing(agent: User) -> None:
    pipe(raw_email(sender="pat@example.com"))
    ticket = Ticket.objects.get()
    messages, events = Message.objects.count(), TicketEvent.objects.count()

    result = pipe(
        raw_email(
            sender="pat@example.com",
            subject=f"Out of office: [{ticket.reference}]",
            body="I am away until Monday.",
            headers={"Auto-Submitted": "auto-replied"},
        )
    )

    assert result.returncode == 0
    assert b"ignored" in result.stdout
    assert (Message.objects.count(), TicketEvent.objects.count()) == (messages, events)
    ticket.refresh_from_db()
    assert ticket.status == Status.NEW


def test_a_redelivery_is_one_message_and_says_so_on_stdout_alone() -> None:
    raw = raw_email(sender="pat@example.com")
    assert pipe(raw).returncode == 0

    again = pipe(raw)

    assert (again.returncode, again.stderr) == (0, b"")
    assert again.stdout.startswith(b"ingest_email: duplicate of #")
    assert InboundEmail.objects.count() == 1


def test_with_verbosity_2_informational_log_records_reach_stderr() -> None:
    raw = raw_email(sender="pat@example.com")
    pipe(raw)

    again = manage("ingest_email", "-v", "2", stdin=raw, LOG_LEVEL="INFO")

    assert again.returncode == 0
    assert b"INFO inbound.services Duplicate delivery of <" in again.stderr


def test_a_message_above_the_limit_is_refused_for_the_mta_to_bounce() -> None:
    result = pipe(raw_email(body="x" * 500), HELPDESK_INBOUND_MAX_BYTES="200")

    assert result.returncode == 65
    assert b"above the limit of 200" in result.stderr
    assert not InboundEmail.objects.exists()


def test_empty_input_is_refused() -> None:
    assert pipe(b"").returncode == 65


def test_a_database_outage_asks_the_mta_to_try_again_later() -> None:
    result = pipe(raw_email(), DATABASE_URL="postgres://postgres@127.0.0.1:1/nowhere")

    assert result.returncode == 75
    assert b"try again" in result.stderr


def test_without_node_modules_the_pipe_prints_nothing_on_stderr(
    checkout_without_node_modules: Path,
) -> None:
    result = manage(
        "ingest_email",
        stdin=raw_email(sender="pat@example.com", body="Where is my parcel?"),
        checkout=checkout_without_node_modules,
    )

    assert (result.returncode, result.stderr) == (0, b"")
    assert result.stdout.startswith(b"ingest_email: ")
    assert Ticket.objects.get().messages.get().body == "Where is my parcel?"


def test_without_node_modules_check_still_names_the_missing_directory(
    checkout_without_node_modules: Path,
) -> None:
    result = manage("check", checkout=checkout_without_node_modules)

    assert result.returncode == 0, result.stderr
    assert b"staticfiles.W004" in result.stderr
    assert b"node_modules/chart.js/dist" in result.stderr


def test_starting_django_for_the_pipe_does_not_import_the_apis_serializers() -> None:
    """The API's schema is described when the API is built, not whenever
    Django starts: DRF's serializers (and markdown, pygments behind them)
    were some 80 ms of every pipe run."""
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, django; django.setup(); "
            "print('rest_framework.serializers' in sys.modules)",
        ],
        capture_output=True,
        cwd=ROOT,
        timeout=60,
        check=True,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "helpdesk.settings.test"},
    )

    assert probe.stdout.decode().strip() == "False", probe.stderr.decode()
