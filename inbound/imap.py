"""An optional IMAP mailbox, polled by beat. A message is flagged \\Seen only
after the desk has stored it, so a crash between the two costs a duplicate
(ignored by its Message-ID), never a lost email."""

import imaplib
import logging
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from core.errors import PayloadTooLarge
from inbound.services import inbound_receive

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PollResult:
    stored: int = 0
    duplicates: int = 0
    refused: int = 0


def connect() -> imaplib.IMAP4:
    host, port = settings.HELPDESK_IMAP_HOST, settings.HELPDESK_IMAP_PORT
    timeout = 30
    client = (
        imaplib.IMAP4_SSL(host, port, timeout=timeout)
        if settings.HELPDESK_IMAP_SSL
        else imaplib.IMAP4(host, port, timeout=timeout)
    )
    client.login(settings.HELPDESK_IMAP_USER, settings.HELPDESK_IMAP_PASSWORD)
    return client


def poll(mailbox: Any, *, folder: str, batch: int) -> PollResult:
    """Store up to ``batch`` unseen messages of ``folder``, oldest first.
    ``mailbox`` is a logged-in imaplib.IMAP4 (or anything with its select
    and uid methods)."""
    status, _ = mailbox.select(folder)
    if status != "OK":
        raise imaplib.IMAP4.error(f"cannot open the folder {folder!r}")
    status, found = mailbox.uid("SEARCH", "UNSEEN")
    uids = found[0].split() if status == "OK" and isinstance(found[0], bytes) else []
    stored = duplicates = refused = 0
    for uid in uids[:batch]:
        raw = _fetch(mailbox, uid.decode())
        if raw is None:
            continue
        try:
            received = inbound_receive(raw=raw, source="imap")
        except PayloadTooLarge as error:
            # It can never be stored: flag it for a person and do not fetch it again.
            logger.warning("IMAP message %s refused: %s", uid, error.detail)
            mailbox.uid("STORE", uid.decode(), "+FLAGS", "(\\Seen \\Flagged)")
            refused += 1
            continue
        except Exception:
            # Not stored (the database?): left unseen for the next poll, and the
            # rest of the batch still gets its chance.
            logger.exception("IMAP message %s could not be stored; kept unseen", uid)
            continue
        mailbox.uid("STORE", uid.decode(), "+FLAGS", "(\\Seen)")
        duplicates += received.duplicate
        stored += not received.duplicate
    return PollResult(stored, duplicates, refused)


def _fetch(mailbox: Any, uid: str) -> bytes | None:
    # BODY.PEEK leaves the message unseen until it is stored.
    status, data = mailbox.uid("FETCH", uid, "(BODY.PEEK[])")
    if status != "OK":
        return None
    for item in data:
        if isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], bytes):
            return item[1]
    return None


def poll_configured_mailbox() -> PollResult | None:
    if not settings.HELPDESK_IMAP_HOST:
        return None
    client = connect()
    try:
        return poll(
            client, folder=settings.HELPDESK_IMAP_FOLDER, batch=settings.HELPDESK_IMAP_BATCH
        )
    finally:
        try:
            client.logout()
        except (imaplib.IMAP4.error, OSError):
            logger.info("IMAP logout failed; the connection is dropped anyway")
