"""The customer emails' MIME class, and the SMTP backend the desk sends with."""

import smtplib
import uuid
from email.message import Message
from email.policy import Compat32
from email.utils import parseaddr
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.core.mail.backends import smtp
from django.core.mail.message import sanitize_address

from core.addresses import is_international, mailbox


class _QuickFolding(Compat32):
    """Python's default policy for Django's MIME classes, which folds every
    header through ``email.header.Header``, even one with nothing to fold: a
    quarter of building a follow-up's bytes. A line that is plain printable
    ASCII and already short enough comes out of that unchanged, so it is
    written as it is; everything else is folded as before.

    With ``raw_utf8`` (a mail to an internationalised address, sent with
    SMTPUTF8), a header beyond ASCII is written in UTF-8 as it is (RFC 6532):
    an address cannot be carried by RFC 2047's encoded words."""

    raw_utf8 = False

    def _fold(self, name: str, value: Any, sanitize: bool) -> str:
        if isinstance(value, str) and value.isprintable():
            if value.isascii() and len(name) + 2 + len(value) <= (self.max_line_length or 998):
                return f"{name}: {value}{self.linesep}"
            if self.raw_utf8 and not value.isascii():
                return f"{name}: {value}{self.linesep}"
        return super()._fold(name, value, sanitize)  # type: ignore[misc]

    def fold_binary(self, name: str, value: Any) -> bytes:
        if not self.raw_utf8:
            return super().fold_binary(name, value)
        return self._fold(name, value, sanitize=False).encode("utf-8", "surrogateescape")


QUICK_FOLDING = _QuickFolding()
UTF8_HEADERS = QUICK_FOLDING.clone(raw_utf8=True)  # type: ignore[call-arg]


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
        written = [*self.to, *self.cc]
        if not all(a.isascii() for a in written) and any(
            is_international(parseaddr(a)[1]) for a in written
        ):
            # Django wrote these addresses' local parts as encoded words,
            # which no server delivers: they go as they are, in UTF-8.
            for header, addresses in (("To", self.to), ("Cc", self.cc)):
                if addresses:
                    del mime[header]
                    value = ", ".join(mailbox(*parseaddr(a)) for a in addresses)
                    Message.__setitem__(mime, header, value)
            mime.policy = UTF8_HEADERS
        return mime


@lru_cache(maxsize=1024)
def _sanitized(address: str, encoding: str) -> str:
    return sanitize_address(address, encoding)


class SMTPUTF8Unavailable(ValueError):
    """The mail server cannot carry an internationalised address: nothing
    this message can do about it (a ValueError, so the outbox fails it at
    once and tells the agent, rather than retrying for two days)."""


class SMTPBackend(smtp.EmailBackend):
    """Django's SMTP backend, remembering the addresses it has already made
    safe for the envelope (parsing one costs about as much as building the
    rest of a follow-up's MIME, and a batch's mails come from a handful of
    senders), and sending to internationalised addresses (RFC 6531/6532)
    with SMTPUTF8 when the server offers it. ``EMAIL_URL``'s ``smtp://`` and
    ``smtp+tls://`` send with it."""

    def _send(self, email_message: Any) -> bool:
        recipients = email_message.recipients()
        if not recipients:
            return False
        connection = self.connection
        if connection is None:  # send_messages opens it first, or sends nothing
            raise smtplib.SMTPServerDisconnected("No connection to the mail server.")
        encoding = email_message.encoding or settings.DEFAULT_CHARSET
        written = [email_message.from_email, *recipients]
        addresses = [] if all(a.isascii() for a in written) else [parseaddr(a)[1] for a in written]
        international = [a for a in addresses if is_international(a)]
        options: list[str] = []
        if international:
            connection.ehlo_or_helo_if_needed()
            if not connection.has_extn("smtputf8"):
                raise SMTPUTF8Unavailable(
                    f"The mail server does not offer SMTPUTF8, which {international[0]} "
                    "needs (an internationalised address): write to them another way, "
                    "or send through a server that offers it."
                )
            from_email, envelope, options = addresses[0], addresses[1:], ["SMTPUTF8"]
        else:
            from_email = _sanitized(email_message.from_email, encoding)
            envelope = [_sanitized(address, encoding) for address in recipients]
        message = email_message.message()
        try:
            connection.sendmail(
                from_email, envelope, message.as_bytes(linesep="\r\n"), mail_options=options
            )
        except smtplib.SMTPException:
            if not self.fail_silently:
                raise
            return False
        return True
