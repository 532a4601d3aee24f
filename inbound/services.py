"""Every change to inbound email goes through these functions. The raw bytes
are committed first, in their own transaction; reading and threading them
is a second step that can fail, be retried or be quarantined without ever
losing the message."""

import hashlib
import logging
import re
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction
from django.template.defaultfilters import filesizeformat

from accounts.models import User
from core import clock
from core.addresses import can_be_written_to
from core.errors import PayloadTooLarge, RuleViolation
from inbound.models import InboundEmail
from inbound.parsing import ParsedEmail, parse, sanitize_html
from inbound.threading import find_ticket
from tickets.message_ids import is_our_message_id
from tickets.models import Channel
from tickets.selectors import queue_named_by
from tickets.services.customer_writes import Outcome, customer_writes
from tickets.services.messages import MAX_BODY_CHARS
from tickets.services.tickets import NewTicket, ticket_create

logger = logging.getLogger(__name__)

Status = InboundEmail.Status


@dataclass(frozen=True)
class Received:
    email: InboundEmail
    duplicate: bool


def inbound_receive(*, raw: bytes, source: str) -> Received:
    """Keep the message, then handle it. The raw bytes are committed before
    anything parses them, so no content can lose the message. A second
    delivery (the same Message-ID, or the same bytes when there is none) is
    a duplicate: handled only if the first was stored but never handled."""
    limit = settings.HELPDESK_INBOUND_MAX_BYTES
    if len(raw) > limit:
        raise PayloadTooLarge(
            f"The message is {filesizeformat(len(raw))}, above the limit of "
            f"{filesizeformat(limit)}.",
            limit_bytes=limit,
        )
    key = dedupe_key(raw)
    try:
        email = _store(raw=raw, source=source, key=key)
    except IntegrityError:
        existing = InboundEmail.objects.get(dedupe_key=key)
        logger.info("Duplicate delivery of %s", key)
        if existing.status == Status.RECEIVED:
            # Stored by a delivery that died before handling it: handle it now.
            existing = inbound_process(email_id=existing.pk)
        return Received(existing, duplicate=True)
    # The bytes just stored are at hand: they are not read back.
    return Received(_process(email.pk, raw=raw), duplicate=False)


def _store(*, raw: bytes, source: str, key: str) -> InboundEmail:
    fields = {"raw": raw, "size": len(raw), "source": source, "dedupe_key": key}
    if transaction.get_autocommit():
        # Outside any transaction the INSERT is its own, committed when it
        # returns: one round trip, where BEGIN, INSERT, COMMIT are three.
        return InboundEmail.objects.create(**fields)
    # Inside a caller's transaction (tests), a savepoint keeps a duplicate's
    # IntegrityError from spoiling it.
    with transaction.atomic():
        return InboundEmail.objects.create(**fields)


def dedupe_key(raw: bytes) -> str:
    """The message's own Message-ID, read from the header bytes alone; else a
    digest of the bytes. Never raises."""
    head = raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    found = re.search(rb"(?im)^message-id:[ \t]*(<[^<>\s\x00]{1,250}>)", head)
    if found:
        return found.group(1).decode("ascii", errors="replace")
    return f"sha256:{hashlib.sha256(raw).hexdigest()}"


def inbound_process(*, email_id: int) -> InboundEmail:
    """Thread a kept message into its ticket, or ignore it as automatic, or
    quarantine it with the reason. Never raises for what the message holds."""
    return _process(email_id, raw=None)


# What handling a message writes: never the raw bytes, which are kept as stored.
_HANDLED_FIELDS = [
    "attempts",
    "message_id",
    "sender",
    "subject",
    "status",
    "outcome",
    "reason",
    "retry_can_help",
    "ticket",
    "ticket_message",
    "processed_at",
]


def _process(email_id: int, *, raw: bytes | None) -> InboundEmail:
    """``raw``: the bytes stored for ``email_id``, when the caller has just
    stored them; else they are read with the row."""
    try:
        with transaction.atomic():
            # The lock makes a concurrent delivery of the same message (or a
            # retry) wait, then find it handled.
            rows = InboundEmail.objects.select_for_update()
            email = (rows.defer("raw") if raw is not None else rows).get(pk=email_id)
            if email.status not in (Status.RECEIVED, Status.QUARANTINED):
                return email
            email.attempts += 1
            parsed = parse(raw if raw is not None else bytes(email.raw))
            email.message_id = parsed.message_id
            email.sender = parsed.sender_email[:254]
            email.subject = parsed.subject
            _handle(email, parsed)
            email.processed_at = clock.now()
            email.save(update_fields=_HANDLED_FIELDS)
            return email
    except Exception as exc:  # whatever happens, the message is kept
        logger.exception("Inbound email %s quarantined after an error", email_id)
        InboundEmail.objects.filter(pk=email_id).update(
            status=Status.QUARANTINED,
            reason=f"Could not be handled: {exc}".replace("\x00", "")[:2000],
            retry_can_help=True,  # a fix to the desk may well help
            processed_at=clock.now(),
        )
        return InboundEmail.objects.get(pk=email_id)


def inbound_process_stalled(*, older_than: timedelta = timedelta(minutes=5)) -> int:
    """Handle messages stored but never handled (the process died between the
    two steps). Beat runs this; returns how many it took."""
    stalled = list(
        InboundEmail.objects.filter(
            status=Status.RECEIVED, received_at__lt=clock.now() - older_than
        ).values_list("pk", flat=True)[:100]
    )
    for email_id in stalled:
        inbound_process(email_id=email_id)
    return len(stalled)


def _handle(email: InboundEmail, parsed: ParsedEmail) -> None:
    email.retry_can_help = True
    if is_our_message_id(parsed.message_id):
        _ignore(email, "our own outgoing message came back")
    elif parsed.automatic:
        _ignore(email, f"automatic message ({parsed.automatic})")
    elif not parsed.sender_email:
        _quarantine(email, "no usable sender address", parsed)
    elif not can_be_written_to(parsed.sender_email):
        problem = f"the sender's address {parsed.sender_email!r} cannot be written to"
        _quarantine(email, problem, parsed, retry_can_help=False)
    elif problem := _over_limits(parsed):
        _quarantine(email, problem, parsed)
    elif not (parsed.text.strip() or parsed.attachments):
        _quarantine(email, "no readable content", parsed)
    else:
        _thread(email, parsed)


def _ignore(email: InboundEmail, reason: str) -> None:
    # Recorded, never answered: replying to an auto-reply is how mail loops start.
    email.status, email.reason = Status.IGNORED, reason


def _quarantine(
    email: InboundEmail, reason: str, parsed: ParsedEmail, *, retry_can_help: bool = True
) -> None:
    details = "; ".join(parsed.problems)
    email.status = Status.QUARANTINED
    email.reason = f"{reason}" + (f" ({details})" if details else "")
    if not retry_can_help:
        email.reason += "; trying again cannot help"
    email.retry_can_help = retry_can_help


def _over_limits(parsed: ParsedEmail) -> str:
    count, size = settings.HELPDESK_MAX_ATTACHMENTS, settings.HELPDESK_MAX_ATTACHMENT_BYTES
    if len(parsed.attachments) > count:
        return f"{len(parsed.attachments)} attachments, above the limit of {count}"
    for attachment in parsed.attachments:
        if len(attachment.content) > size:
            return f"{attachment.name} is above the limit of {filesizeformat(size)} per file"
    return ""


def _body(parsed: ParsedEmail) -> str:
    text = parsed.text.strip() or "(The message has only attachments.)"
    if len(text) > MAX_BODY_CHARS:
        note = "\n\n[Shortened here: the whole message is kept with the raw email.]"
        text = text[: MAX_BODY_CHARS - len(note)] + note
    return text


def _files(parsed: ParsedEmail) -> list[SimpleUploadedFile]:
    return [SimpleUploadedFile(a.name, a.content, a.content_type) for a in parsed.attachments]


def _thread(email: InboundEmail, parsed: ParsedEmail) -> None:
    ticket = find_ticket(
        answers=[*parsed.in_reply_to, *reversed(parsed.references)],
        subject=parsed.subject,
        sender=parsed.sender_email,
    )
    html = sanitize_html(parsed.html) if parsed.html else ""
    if ticket is None:
        email.ticket, email.ticket_message = _new_ticket(parsed, html)
        email.outcome = InboundEmail.Outcome.NEW_TICKET
    else:
        written = customer_writes(
            ticket=ticket,
            body=_body(parsed),
            subject=parsed.subject or "(no subject)",
            customer_email=parsed.sender_email,
            customer_name=_sender_name(parsed),
            channel=Channel.EMAIL,
            queue=queue_named_by(settings.HELPDESK_INBOUND_QUEUE),
            email_message_id=parsed.message_id or None,
            body_html=html,
            attachments=_files(parsed),
        )
        email.ticket, email.ticket_message = written.ticket, written.message
        email.outcome = _OUTCOMES[written.outcome]
    email.status, email.reason = Status.PROCESSED, ""


def _new_ticket(parsed: ParsedEmail, html: str) -> NewTicket:
    return ticket_create(
        actor=None,
        subject=parsed.subject or "(no subject)",
        body=_body(parsed),
        customer_email=parsed.sender_email,
        customer_name=_sender_name(parsed),
        channel=Channel.EMAIL,
        queue=queue_named_by(settings.HELPDESK_INBOUND_QUEUE),
        customer_message_id=parsed.message_id or None,
        customer_html=html,
        attachments=_files(parsed),
    )


def _sender_name(parsed: ParsedEmail) -> str:
    return parsed.sender_name or parsed.sender_email.split("@")[0]


_OUTCOMES = {
    Outcome.REPLY: InboundEmail.Outcome.REPLY,
    Outcome.REOPENED: InboundEmail.Outcome.REOPENED,
    Outcome.NEW_TICKET: InboundEmail.Outcome.NEW_TICKET,
}


def inbound_retry(*, email: InboundEmail, actor: User) -> InboundEmail:
    """An admin tries a quarantined message again (after a fix, a new limit)."""
    if email.status not in (Status.QUARANTINED, Status.RECEIVED):
        raise RuleViolation("Only a quarantined or unhandled message can be retried.")
    if not email.retry_can_help:
        raise RuleViolation(
            f"Trying again cannot help #{email.pk} ({email.sender}): discard it, "
            "or write to the sender another way."
        )
    logger.info("%s retries inbound email %s", actor, email.pk)
    return inbound_process(email_id=email.pk)


def inbound_discard(*, email: InboundEmail, actor: User, reason: str) -> InboundEmail:
    """An admin decides a quarantined message is not for the desk. The raw
    bytes stay, for the record."""
    with transaction.atomic():
        locked = InboundEmail.objects.select_for_update().get(pk=email.pk)
        if locked.status != Status.QUARANTINED:
            raise RuleViolation("Only a quarantined message can be discarded.")
        locked.status = Status.DISCARDED
        locked.reason = f"Discarded by {actor.username}: {reason}".strip()[:2000]
        locked.processed_at = clock.now()
        locked.save()
    return locked
