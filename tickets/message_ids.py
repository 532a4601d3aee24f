"""The Message-IDs of the emails the desk sends, and how to know one again.

An ID of ours reads ``<hd.HD-000123.<unique>.<signature>@<domain>>``: the
ticket's reference, so replies thread by it, and an HMAC (keyed by
SECRET_KEY) of everything before it. Only the signature says a message is
ours: the domain cannot, since with the default from address it is
``localhost``, which customers' mail clients put in their own IDs too.
"""

import secrets

from django.conf import settings
from django.utils.crypto import constant_time_compare, salted_hmac

_PREFIX = "hd."
_SALT = "tickets.message_ids"
# 64 bits: far beyond what chance or guessing reaches, short enough to read.
_SIGNATURE_CHARS = 16


def our_message_id(*, reference: str, unique: str | None = None) -> str:
    """A signed Message-ID for an email about the ticket ``reference``.
    ``unique`` (letters, digits, hyphens) makes it stable across retries
    (a follow-up's); by default it is random, so every call gives a new ID."""
    body = f"{_PREFIX}{reference}.{unique or secrets.token_hex(10)}"
    return f"<{body}.{_sign(body, settings.SECRET_KEY)}@{settings.HELPDESK_EMAIL_DOMAIN}>"


def is_our_message_id(message_id: str) -> bool:
    """Whether the desk issued ``message_id``: its form and signature, never
    its domain. Keys in SECRET_KEY_FALLBACKS still count, so rotating the key
    does not turn our messages coming back into tickets."""
    local, at, _domain = message_id.strip().strip("<>").rpartition("@")
    body, dot, signature = local.rpartition(".")
    if not (at and dot and body.lower().startswith(_PREFIX)):
        return False
    keys = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return any(constant_time_compare(signature.lower(), _sign(body, key)) for key in keys)


def _sign(body: str, key: str) -> str:
    # Over the lower case: a relay that changes the case keeps the ID ours.
    return salted_hmac(_SALT, body.lower(), secret=key, algorithm="sha256").hexdigest()[
        :_SIGNATURE_CHARS
    ]
