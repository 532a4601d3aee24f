"""Reading a raw RFC 5322 message into what the desk needs, without ever
raising: whatever Python's email package can decode is used, and what it
cannot is reported as a problem for the quarantine.

The email package raises many kinds of errors on malformed input (ValueError,
IndexError, AttributeError, LookupError, its own HeaderParseError...), so the
reads below catch Exception on purpose (BLE001): one bad header or part must
cost that header or part, not the message."""

import re
from dataclasses import dataclass, field
from email import errors, policy
from email.headerregistry import BaseHeader
from email.message import Message
from email.parser import BytesParser
from email.policy import EmailPolicy, compat32
from functools import lru_cache
from typing import Any

import nh3

from inbound.bodies import Attachment, read_body
from inbound.senders import read_sender

MESSAGE_ID = re.compile(r"<[^<>\s]+>")
# Tags and attributes kept when a customer's HTML is shown to staff: text
# formatting only. No images (tracking pixels), no styles, no scripts.
SAFE_TAGS = {
    "a", "b", "blockquote", "br", "code", "div", "em", "i", "li", "ol", "p", "pre",
    "span", "strong", "table", "tbody", "td", "th", "thead", "tr", "u", "ul",
}  # fmt: skip
SAFE_ATTRIBUTES = {"a": {"href"}}


class _HeaderCachingPolicy(EmailPolicy):
    """``policy.default``, except that a header value already parsed is not
    parsed again. The default policy builds a header object on every read,
    and ``get_content_type`` alone reads each part's Content-Type several
    times (the parser's own reads included): that was most of the time spent
    on a message. The objects are immutable and depend only on the name and
    the value, so the results are the same."""

    def header_fetch_parse(self, name: str, value: Any) -> Any:
        if hasattr(value, "name") or len(value) > _CACHED_VALUE_CHARS:
            return super().header_fetch_parse(name, value)
        return _fetch_parse(name, value)


# Content-Type and Content-Transfer-Encoding values repeat from message to
# message; long values (References) rarely do and are parsed each time.
_CACHED_VALUE_CHARS = 500


@lru_cache(maxsize=1024)
def _fetch_parse(name: str, value: str) -> BaseHeader:
    return policy.default.header_fetch_parse(name, value)


PARSING_POLICY = _HeaderCachingPolicy()


@dataclass
class ParsedEmail:
    message_id: str = ""
    in_reply_to: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    subject: str = ""
    sender_email: str = ""
    sender_name: str = ""
    text: str = ""
    html: str = ""
    attachments: list[Attachment] = field(default_factory=list)
    # Why this is not a customer writing (an auto-reply, a bounce), or "".
    automatic: str = ""
    # What could not be read; the message goes to the quarantine if the
    # sender or the content is among them.
    problems: list[str] = field(default_factory=list)


def parse(raw: bytes) -> ParsedEmail:
    result = ParsedEmail()
    raw = _readable_headers(raw)
    try:
        message = BytesParser(policy=PARSING_POLICY).parsebytes(raw)
    except Exception as exc:  # noqa: BLE001 - the parser is lenient; this is the last resort
        result.problems.append(f"unreadable message: {exc}")
        return result
    result.message_id = _first_id(_header(message, "Message-ID", result))
    result.in_reply_to = MESSAGE_ID.findall(_header(message, "In-Reply-To", result))
    result.references = MESSAGE_ID.findall(_header(message, "References", result))
    result.subject = " ".join(_header(message, "Subject", result).split())[:300]
    result.sender_name, result.sender_email = read_sender(message, result.problems)
    result.automatic = automatic_reason(message, result)
    body = read_body(_structure(message, raw), result.problems)
    result.text = body.text.replace("\x00", "")
    result.html = body.html.replace("\x00", "")
    result.attachments = body.attachments
    return result


_FIELD = re.compile(rb"[\x21-\x39\x3b-\x7e]+:")
# RFC 5322's obsolete syntax (4.5.3), which readers must accept: spaces
# before the colon ("From  : John Doe"), which Python reads as the end of the
# headers (or, first, as an mbox "From " line).
_OBSOLETE_FIELD = re.compile(rb"([\x21-\x39\x3b-\x7e]+)[ \t]+:")
_END_OF_HEADERS = re.compile(rb"\r?\n\r?\n")


def _readable_headers(raw: bytes) -> bytes:
    """``raw`` with its header block as a person reads it: an obsolete field
    name written with spaces before its colon made plain, and a stray line
    that is no field (``quite Delivered-To: ...``) read as the end of the
    field before it, rather than, as Python would, as the end of every
    header (the sender's among them). The same bytes when nothing is amiss;
    what is stored is always the message as it came."""
    end = _END_OF_HEADERS.search(raw)
    head, rest = (raw[: end.start()], raw[end.start() :]) if end else (raw, b"")
    lines = head.splitlines(keepends=True)
    fields = [bool(_FIELD.match(line) or _OBSOLETE_FIELD.match(line)) for line in lines]
    mended = []
    for index, line in enumerate(lines):
        obsolete = _OBSOLETE_FIELD.match(line)
        if obsolete:
            line = obsolete.group(1) + line[obsolete.end() - 1 :]
        elif not (fields[index] or line[:1] in (b" ", b"\t")):
            if (index == 0 and line.startswith(b"From ")) or not any(fields[index + 1 :]):
                # An mbox separator (Python skips it), or where the body
                # starts without its blank line: as Python reads it.
                mended.append(line)
                continue
            line = b" " + line
        mended.append(line)
    repaired = b"".join(mended)
    return raw if repaired == head else repaired + rest


# What Python's default policy reports when it could not find a multipart's
# parts: Outlook's unquoted boundaries (``boundary=----=_NextPart_000...``)
# read as a boundary of "----".
_LOST_PARTS = (
    errors.StartBoundaryNotFoundDefect,
    errors.NoBoundaryInMultipartDefect,
    errors.MultipartInvariantViolationDefect,
)


def _structure(message: Message, raw: bytes) -> Message:
    """The message whose parts to read: the one parsed, or, when that lost
    its parts, the same bytes as ``compat32`` reads them (its older
    parameter parsing takes such a boundary whole), if that finds them."""
    lost = _lost_parts(message)
    if not lost:
        return message
    try:
        again = BytesParser(policy=compat32).parsebytes(raw)
    except Exception:  # noqa: BLE001 - keep what the first reading found
        return message
    # The reading that lost fewer parts (a forwarded message's own broken
    # multipart may be lost in both).
    return again if _lost_parts(again) < lost else message


def _lost_parts(message: Message) -> int:
    try:
        return sum(
            isinstance(defect, _LOST_PARTS) for part in message.walk() for defect in part.defects
        )
    except Exception:  # noqa: BLE001
        return 1_000_000


def _header(message: Message, name: str, result: ParsedEmail) -> str:
    try:
        value = message.get(name)
        # PostgreSQL text cannot hold NUL, and no header needs one.
        return str(value).replace("\x00", "") if value is not None else ""
    except Exception as exc:  # noqa: BLE001 - a header Python cannot decode
        result.problems.append(f"unreadable {name} header: {exc}")
        return ""


def _first_id(value: str) -> str:
    found = MESSAGE_ID.search(value)
    return found.group(0)[:255] if found else ""


AUTOMATIC_PRECEDENCE = {"bulk", "junk", "list", "auto_reply"}
AUTOMATIC_SENDERS = re.compile(
    r"^(mailer-daemon|postmaster|bounces?)[@+]"
    r"|^([^@]*[._+-])?(no-?reply|do-?not-?reply)([._+-][^@]*)?@",
    re.I,
)
# A list's headers (RFC 2369, RFC 2919, ezmlm's own): a list or a newsletter
# wrote to everyone on it, not a customer to us.
LIST_HEADERS = ("List-Id", "List-Unsubscribe", "Mailing-List")
REPORT_TYPES = {"multipart/report", "message/delivery-status", "message/disposition-notification"}


def automatic_reason(message: Message, result: ParsedEmail) -> str:
    """RFC 3834 and the common conventions that say no person wrote this."""
    auto_submitted = _header(message, "Auto-Submitted", result).strip().lower()
    if auto_submitted and auto_submitted != "no":
        return f"Auto-Submitted: {auto_submitted}"
    precedence = _header(message, "Precedence", result).strip().lower()
    if precedence in AUTOMATIC_PRECEDENCE:
        return f"Precedence: {precedence}"
    for name in ("X-Autoreply", "X-Autorespond", "X-Auto-Response-Suppress"):
        if _header(message, name, result) and name != "X-Auto-Response-Suppress":
            return f"{name} header"
    for name in LIST_HEADERS:
        if value := _header(message, name, result).strip():
            return f"mailing list or newsletter ({name}: {value[:80]})"
    if message.get_content_type() in REPORT_TYPES:
        return "delivery or read report"
    if AUTOMATIC_SENDERS.match(result.sender_email or ""):
        return f"sent by {result.sender_email}"
    return ""


def sanitize_html(source: str) -> str:
    """The customer's HTML, safe to show to staff."""
    return nh3.clean(
        source, tags=SAFE_TAGS, attributes=SAFE_ATTRIBUTES, link_rel="noopener nofollow"
    )
