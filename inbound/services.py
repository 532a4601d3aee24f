"""Every change to inbound email goes through these functions. The raw bytes
are committed first, in their own transaction; reading and threading them
is a second step that can fail, be retried or be quarantined without ever
losing the message."""

import logging
from dataclasses import dataclass

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction
from django.template.defaultfilters import filesizeformat
from django.utils import timezone

from accounts.models import User
from core.errors import PayloadTooLarge, RuleViolation
from inbound.models import InboundEmail
from inbound.parsing import ParsedEmail, parse, sanitize_html
from inbound.threading import find_ticket, our_domain_ids
from tickets.models import Channel, Queue
from tickets.services import message_receive, ticket_create
from tickets.services.messages import MAX_BODY_CHARS

logger = logging.getLogger(__name__)

Status = InboundEmail.Status


@dataclass(frozen=True)
class Received:
    email: InboundEmail
    duplicate: bool


def inbound_receive(*, raw: bytes, source: str) -> Received:
    """Keep the message, then handle it. A message with a Message-ID already
    received is a duplicate delivery: nothing happens the second time."""
    limit = settings.HELPDESK_INBOUND_MAX_BYTES
    if len(raw) > limit:
        raise PayloadTooLarge(
            f"The message is {filesizeformat(len(raw))}, above the limit of "
            f"{filesizeformat(limit)}.",
            limit_bytes=limit,
        )
    parsed = parse(raw)
    try:
        with transaction.atomic():
            email = InboundEmail.objects.create(
                raw=raw,
                size=len(raw),
                source=source,
                message_id=parsed.message_id,
                sender=parsed.sender_email[:254],
                subject=parsed.subject,
            )
    except IntegrityError:
        existing = InboundEmail.objects.get(message_id=parsed.message_id)
        logger.info("Duplicate delivery of %s ignored", parsed.message_id)
        return Received(existing, duplicate=True)
    return Received(inbound_process(email_id=email.pk, parsed=parsed), duplicate=False)


def inbound_process(*, email_id: int, parsed: ParsedEmail | None = None) -> InboundEmail:
    """Thread a kept message into its ticket, or ignore it as automatic, or
    quarantine it with the reason. Never raises for what the message holds."""
    try:
        with transaction.atomic():
            email = InboundEmail.objects.select_for_update().get(pk=email_id)
            if email.status not in (Status.RECEIVED, Status.QUARANTINED):
                return email
            email.attempts += 1
            _handle(email, parsed or parse(bytes(email.raw)))
            email.processed_at = timezone.now()
            email.save()
            return email
    except Exception as exc:  # whatever happens, the message is kept
        logger.exception("Inbound email %s quarantined after an error", email_id)
        InboundEmail.objects.filter(pk=email_id).update(
            status=Status.QUARANTINED,
            reason=f"Could not be handled: {exc}"[:2000],
            processed_at=timezone.now(),
        )
        return InboundEmail.objects.get(pk=email_id)


def _handle(email: InboundEmail, parsed: ParsedEmail) -> None:
    if parsed.message_id and our_domain_ids([parsed.message_id]):
        _ignore(email, "our own outgoing message came back")
    elif parsed.automatic:
        _ignore(email, f"automatic message ({parsed.automatic})")
    elif not parsed.sender_email:
        _quarantine(email, "no usable sender address", parsed)
    elif problem := _over_limits(parsed):
        _quarantine(email, problem, parsed)
    elif not (parsed.text.strip() or parsed.attachments):
        _quarantine(email, "no readable content", parsed)
    else:
        _thread(email, parsed)


def _ignore(email: InboundEmail, reason: str) -> None:
    # Recorded, never answered: replying to an auto-reply is how mail loops start.
    email.status, email.reason = Status.IGNORED, reason


def _quarantine(email: InboundEmail, reason: str, parsed: ParsedEmail) -> None:
    details = "; ".join(parsed.problems)
    email.status = Status.QUARANTINED
    email.reason = f"{reason}" + (f" ({details})" if details else "")


def _over_limits(parsed: ParsedEmail) -> str:
    count, size = settings.HELPDESK_MAX_ATTACHMENTS, settings.HELPDESK_MAX_ATTACHMENT_BYTES
    if len(parsed.attachments) > count:
        return f"{len(parsed.attachments)} attachments, above the limit of {count}"
    for attachment in parsed.attachments:
        if len(attachment.content) > size:
            return f"{attachment.name} is above the limit of {filesizeformat(size)} per file"
    return ""


def _body(parsed: ParsedEmail) -> str:
    text = parsed.text.replace("\x00", "").strip() or "(The message has only attachments.)"
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
        ticket = ticket_create(
            actor=None,
            subject=parsed.subject or "(no subject)",
            body=_body(parsed),
            customer_email=parsed.sender_email,
            customer_name=parsed.sender_name or parsed.sender_email.split("@")[0],
            channel=Channel.EMAIL,
            queue=_inbound_queue(),
            customer_message_id=parsed.message_id or None,
            customer_html=html,
            attachments=_files(parsed),
        )
        email.outcome = InboundEmail.Outcome.NEW_TICKET
        email.ticket_message = ticket.messages.order_by("id").first()
    else:
        was_open = ticket.is_open
        email.ticket_message = message_receive(
            ticket=ticket,
            body=_body(parsed),
            email_message_id=parsed.message_id or None,
            body_html=html,
            attachments=_files(parsed),
        )
        email.outcome = InboundEmail.Outcome.REPLY if was_open else InboundEmail.Outcome.REOPENED
    email.ticket = ticket
    email.status, email.reason = Status.PROCESSED, ""


def _inbound_queue() -> Queue | None:
    slug = settings.HELPDESK_INBOUND_QUEUE
    return Queue.objects.filter(slug=slug).first() if slug else None


def inbound_retry(*, email: InboundEmail, actor: User) -> InboundEmail:
    """An admin tries a quarantined message again (after a fix, a new limit)."""
    if email.status != Status.QUARANTINED:
        raise RuleViolation("Only a quarantined message can be retried.")
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
        locked.processed_at = timezone.now()
        locked.save()
    return locked
