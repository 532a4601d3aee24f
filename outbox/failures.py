"""Whether a failed delivery is worth trying again.

Temporary: the receiver said "not now" (SMTP 4xx, greylisting), could not be
reached (refused connection, timeout, a lookup that failed) or dropped the
connection. Mail servers greylist for minutes as a matter of course, and RFC
5321 (4.5.4.1) retries for days, so these are retried with backoff for
HELPDESK_OUTBOX_RETRY_FOR. Permanent: the receiver refused the message for
good (SMTP 5xx, an address it does not know, HTTP 410 Gone), or the message
cannot be built at all: retrying would only fail again."""

import http.client
import smtplib
import urllib.error
from dataclasses import dataclass


@dataclass(frozen=True)
class Failure:
    error: str
    permanent: bool
    status_code: int | None = None


def describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:2000]


def session_failure(exc: BaseException) -> Failure:
    """The mail server could not be reached or would not start a session
    (refused, a 421 or 554 greeting, a 535 for a password just rotated):
    whatever its code, that says nothing against the message, so it waits."""
    return Failure(describe(exc), permanent=False)


def smtp_failure(exc: BaseException) -> Failure:
    """A failure to send one email on an open session, by what the server
    (or the network) said about it."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        return Failure(describe(exc), permanent=any(code >= 500 for code in codes))
    if isinstance(exc, smtplib.SMTPResponseException):
        return Failure(describe(exc), permanent=exc.smtp_code >= 500, status_code=exc.smtp_code)
    if isinstance(exc, OSError):
        # Refused, reset, timed out, a DNS lookup that failed, a dropped session
        # (SMTPServerDisconnected): all may pass.
        return Failure(describe(exc), permanent=False)
    # A header that cannot be encoded, an address that cannot be parsed.
    return Failure(describe(exc), permanent=True)


def http_failure(exc: BaseException | None, status_code: int | None) -> Failure:
    """A webhook that did not answer 2xx. Any answer but 410 Gone may change
    once the receiver is fixed or back (a 5xx, a 429, a 401 while a secret is
    rotated), so it is retried; an address that is not a URL is not."""
    if status_code is not None:
        return Failure(f"HTTP {status_code}", permanent=status_code == 410, status_code=status_code)
    if isinstance(exc, urllib.error.URLError | OSError | http.client.HTTPException):
        return Failure(describe(exc), permanent=False)
    return Failure(describe(exc) if exc else "No answer", permanent=True)
