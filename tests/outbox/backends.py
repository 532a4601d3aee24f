"""An email backend for the outbox's tests: locmem, except that the mails
named in ``failures`` (by Message-ID) raise what is given instead of being
taken, and every connection opened is counted."""

from collections.abc import Sequence
from typing import Any

from django.core.mail.backends.locmem import EmailBackend

failures: dict[str, BaseException] = {}
connections_opened: list[int] = []
# Raised by every open() while set: a server that will not start a session.
open_failure: list[BaseException] = []


class ScriptedBackend(EmailBackend):
    def open(self) -> bool:
        if open_failure:
            raise open_failure[0]
        connections_opened.append(id(self))
        return True

    def send_messages(self, messages: Sequence[Any]) -> int:
        for message in messages:
            error = failures.get(message.extra_headers.get("Message-ID", ""))
            if error is not None:
                raise error
        return super().send_messages(messages)
