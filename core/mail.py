"""The customer emails' MIME class, and the SMTP backend the desk sends with."""

import smtplib
import uuid
from email.policy import Compat32
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.core.mail.backends import smtp
from django.core.mail.message import sanitize_address


class _QuickFolding(Compat32):
    """Python's default policy for Django's MIME classes, which folds every
    header through ``email.header.Header``, even one with nothing to fold: a
    quarter of building a follow-up's bytes. A line that is plain printable
    ASCII and already short enough comes out of that unchanged, so it is
    written as it is; everything else is folded as before."""

    def _fold(self, name: str, value: Any, sanitize: bool) -> str:
        limit = self.max_line_length or 998
        if (
            isinstance(value, str)
            and value.isascii()
            and value.isprintable()
            and len(name) + 2 + len(value) <= limit
        ):
            return f"{name}: {value}{self.linesep}"
        return super()._fold(name, value, sanitize)  # type: ignore[misc]


QUICK_FOLDING = _QuickFolding()


class CustomerMail(EmailMultiAlternatives):
    """An email with text and HTML bodies whose multipart boundary is drawn
    here. Python's generator, handed a multipart message without one, draws
    a boundary and then scans the whole text with a regex compiled for the
    purpose to prove it unused: a fifth of building a follow-up's MIME. A
    boundary of 128 random bits needs no proof."""

    def message(self, **kwargs: Any) -> Any:
        mime = super().message(**kwargs)
        if mime.is_multipart() and mime.get_boundary() is None:
            mime.set_boundary(f"==helpdesk-{uuid.uuid4().hex}==")
        # The generator writes every part with the outermost one's policy.
        mime.policy = QUICK_FOLDING
        return mime


@lru_cache(maxsize=1024)
def _sanitized(address: str, encoding: str) -> str:
    return sanitize_address(address, encoding)


class SMTPBackend(smtp.EmailBackend):
    """Django's SMTP backend, remembering the addresses it has already made
    safe for the envelope: parsing one costs about as much as building the
    rest of a follow-up's MIME, and a batch's mails come from a handful of
    senders (``EMAIL_URL``'s ``smtp://`` and ``smtp+tls://`` send with it)."""

    def _send(self, email_message: Any) -> bool:
        recipients = email_message.recipients()
        if not recipients:
            return False
        encoding = email_message.encoding or settings.DEFAULT_CHARSET
        from_email = _sanitized(email_message.from_email, encoding)
        envelope = [_sanitized(address, encoding) for address in recipients]
        message = email_message.message()
        connection = self.connection
        if connection is None:  # send_messages opens it first, or sends nothing
            raise smtplib.SMTPServerDisconnected("No connection to the mail server.")
        try:
            connection.sendmail(from_email, envelope, message.as_bytes(linesep="\r\n"))
        except smtplib.SMTPException:
            if not self.fail_silently:
                raise
            return False
        return True
