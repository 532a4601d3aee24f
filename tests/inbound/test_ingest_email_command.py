"""The MTA pipe: ``manage.py ingest_email`` as a real process, with real
standard input and exit statuses, on the test database."""

import os
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


def pipe(raw: bytes, **env: str) -> subprocess.CompletedProcess[bytes]:
    db = connection.settings_dict
    database_url = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    return subprocess.run(
        [sys.executable, "manage.py", "ingest_email"],
        input=raw,
        capture_output=True,
        cwd=ROOT,
        timeout=60,
        check=False,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "helpdesk.settings.test",
            "DATABASE_URL": database_url,
            **env,
        },
    )


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
