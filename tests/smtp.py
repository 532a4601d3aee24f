"""A real SMTP server on localhost for the tests of outbound mail (SPEC,
"Real components"): aiosmtpd, recording what it accepts."""

import email
import email.policy
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from tests.helpers import free_port


@dataclass
class RecordingHandler:
    """Accepts mail and keeps it; refuses the next ``refuse_next`` messages,
    and every message to ``refuse_recipients``, with 554."""

    envelopes: list[Any] = field(default_factory=list)
    refuse_next: int = 0
    refuse_recipients: set[str] = field(default_factory=set)
    refused: int = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refuse_next > 0 or self.refuse_recipients & set(envelope.rcpt_tos):
            self.refuse_next = max(self.refuse_next - 1, 0)
            self.refused += 1
            return "554 Transaction refused"
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"


@dataclass
class SmtpSink:
    handler: RecordingHandler

    @property
    def received(self) -> list[EmailMessage]:
        return [
            email.message_from_bytes(e.content, policy=email.policy.default)
            for e in self.handler.envelopes
        ]


def use_smtp(settings: Any, port: int) -> None:
    settings.EMAIL_BACKEND = "core.mail.SMTPBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 5


@contextmanager
def running_sink(settings: Any, **options: Any) -> Iterator[SmtpSink]:
    """A recording aiosmtpd server on 127.0.0.1 that Django sends to while
    the block runs; ``options`` go to its Controller (``enable_SMTPUTF8``)."""
    from aiosmtpd.controller import Controller

    handler = RecordingHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, **options)
    controller.start()
    use_smtp(settings, port)
    try:
        yield SmtpSink(handler)
    finally:
        controller.stop()
