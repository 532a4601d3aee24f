"""Take one raw email on standard input, as an MTA's pipe delivers it
(Postfix: ``help: "|/srv/desk/.venv/bin/python /srv/desk/manage.py ingest_email"``).

Exit statuses are sysexits(3), which MTAs understand: 0 when the message is
kept (threaded, ignored as automatic, quarantined, or a duplicate); 65
(EX_DATAERR) when it is above the size limit, so the MTA bounces it to its
sender; 75 (EX_TEMPFAIL) when it could not be stored (the database is down),
so the MTA keeps it and tries again later. Nothing is ever dropped silently.

Standard output has one line, what became of the message. Standard error is
the MTA's, which logs or bounces whatever lands there: in normal operation it
stays empty. It carries why a message was refused or must wait, and warnings
and errors logged on the way; informational log records (a duplicate
delivery) only with ``-v 2``.
"""

import logging
import sys
from typing import Any

from django.core.management.base import BaseCommand

from core.errors import DomainError
from inbound.services import inbound_receive

EX_OK, EX_DATAERR, EX_TEMPFAIL = 0, 65, 75


class Command(BaseCommand):
    help = "Read one raw email from standard input and hand it to the desk."
    # No system checks. They print their warnings on stderr (a checkout
    # without node_modules put staticfiles.W004 before every message), and
    # they were a fifth of the pipe's start-up, mostly importing the URL conf,
    # which storing a message never needs. A release runs them (`migrate`,
    # `collectstatic`, `check --deploy`), and so does `runserver`.
    requires_system_checks: list[str] = []

    def handle(self, *args: Any, **options: Any) -> None:
        if options["verbosity"] < 2:
            # The root logger writes to stderr; a redelivery is routine for an
            # MTA, and its INFO record would read as trouble there.
            logging.disable(logging.INFO)
        raw = sys.stdin.buffer.read()
        if not raw.strip():
            self.stderr.write("ingest_email: standard input was empty; nothing to do.")
            sys.exit(EX_DATAERR)
        try:
            received = inbound_receive(raw=raw, source="pipe")
        except DomainError as error:
            self.stderr.write(f"ingest_email: refused: {error.detail}")
            sys.exit(EX_DATAERR)
        except Exception as error:  # noqa: BLE001 - the MTA must keep the message and retry
            self.stderr.write(f"ingest_email: could not store the message, try again: {error}")
            sys.exit(EX_TEMPFAIL)
        email = received.email
        what = "duplicate of" if received.duplicate else email.get_status_display().lower()
        self.stdout.write(f"ingest_email: {what} #{email.pk} {email.reason}".rstrip())
        sys.exit(EX_OK)
