"""Customers' email addresses as people have them: plain ASCII (RFC 5322),
with an internationalised domain (IDNA: ``jo@bücher.example``), or
internationalised through and through (RFC 6532: ``jdöe@mächine.example``).

Staff addresses stay Django's (ASCII local parts); a customer may write from
any address their provider gives them, and the desk must be able to keep it
and answer it (``core.mail`` sends those with SMTPUTF8)."""

import re
from email.utils import formataddr
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import models

# RFC 6532's atext: RFC 5322's ASCII set, plus any character beyond ASCII
# (spaces and controls beyond ASCII are refused separately below).
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~\-\u0080-\U0010ffff]+"
_LOCAL_PART = re.compile(rf"{_ATOM}(?:\.{_ATOM})*")
MAX_ADDRESS_OCTETS = 254  # RFC 5321's path limit, less its angle brackets
MAX_LOCAL_OCTETS = 64  # RFC 5321, 4.5.3.1.1


def is_international(address: str) -> bool:
    """An address whose local part is beyond ASCII: only a server that
    offers SMTPUTF8 can carry it."""
    return not address.rpartition("@")[0].isascii()


def validate_mailbox(value: str) -> None:
    """Django's email validation, which also accepts IDNA domains, widened
    to RFC 6532's UTF-8 local parts."""
    if not value.isprintable() or "\ufffd" in value:
        # Controls, lone surrogates, or a character an 8-bit header lost.
        raise ValidationError("Enter a valid email address.", code="invalid")
    local, at, domain = value.rpartition("@")
    if "." not in domain:
        # "localhost", "xxxxx": Django allows the first; no mail from outside reaches either.
        raise ValidationError("Enter a valid email address.", code="invalid")
    if not at or not local or local.isascii():
        validate_email(value)
        return
    if (
        not _LOCAL_PART.fullmatch(local)
        or any(ch.isspace() for ch in local)
        or len(value.encode()) > MAX_ADDRESS_OCTETS
        or len(local.encode()) > MAX_LOCAL_OCTETS
    ):
        raise ValidationError("Enter a valid email address.", code="invalid")
    validate_email(f"x@{domain}")  # the domain by Django's rules


def can_be_written_to(address: str) -> bool:
    try:
        validate_mailbox(address)
    except ValidationError:
        return False
    return True


class MailboxField(models.EmailField):
    """An EmailField that keeps internationalised addresses (``validate_mailbox``)."""

    default_validators = [validate_mailbox]

    def formfield(self, **kwargs: Any) -> Any:
        from django import forms

        return super(models.EmailField, self).formfield(
            **{"form_class": forms.CharField, "validators": [validate_mailbox], **kwargs}
        )


def mailbox(name: str, address: str) -> str:
    """``Name <address>`` for a header, the name encoded as RFC 2047 wants
    when it is beyond ASCII. ``email.utils.formataddr`` refuses an address
    beyond ASCII; this one keeps it as it is (RFC 6532)."""
    if address.isascii():
        return formataddr((name, address))
    if not name:
        return address
    # The name part exactly as formataddr writes it, beside any address.
    return formataddr((name, "x@x"))[: -len("<x@x>")] + f"<{address}>"
