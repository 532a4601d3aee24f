"""Reading a raw RFC 5322 message into what the desk needs, without ever
raising: whatever Python's email package can decode is used, and what it
cannot is reported as a problem for the quarantine.

The email package raises many kinds of errors on malformed input (ValueError,
IndexError, AttributeError, LookupError, its own HeaderParseError...), so the
reads below catch Exception on purpose (BLE001): one bad header or part must
cost that header or part, not the message."""

import html
import re
from dataclasses import dataclass, field
from email import policy
from email.headerregistry import BaseHeader
from email.message import Message
from email.parser import BytesParser
from email.policy import EmailPolicy
from email.utils import getaddresses, parseaddr
from functools import lru_cache
from typing import Any

import nh3

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
class Attachment:
    name: str
    content_type: str
    content: bytes


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
    try:
        message = BytesParser(policy=PARSING_POLICY).parsebytes(raw)
    except Exception as exc:  # noqa: BLE001 - the parser is lenient; this is the last resort
        result.problems.append(f"unreadable message: {exc}")
        return result
    result.message_id = _first_id(_header(message, "Message-ID", result))
    result.in_reply_to = MESSAGE_ID.findall(_header(message, "In-Reply-To", result))
    result.references = MESSAGE_ID.findall(_header(message, "References", result))
    result.subject = " ".join(_header(message, "Subject", result).split())[:300]
    result.sender_name, result.sender_email = _sender(message, result)
    result.automatic = automatic_reason(message, result)
    _read_body(message, result)
    return result


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


def _sender(message: Message, result: ParsedEmail) -> tuple[str, str]:
    for name in ("Reply-To", "From", "Sender"):
        value = _header(message, name, result)
        if not value:
            continue
        for display, address in getaddresses([value]):
            if "@" in address and " " not in address.strip():
                return display.strip()[:200], address.strip().lower()
        fallback = parseaddr(value)
        if "@" in fallback[1]:
            return fallback[0].strip()[:200], fallback[1].strip().lower()
    return "", ""


AUTOMATIC_PRECEDENCE = {"bulk", "junk", "list", "auto_reply"}
AUTOMATIC_SENDERS = re.compile(r"^(mailer-daemon|postmaster|no-?reply|bounces?)[@+]", re.I)


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
    if message.get_content_type() == "multipart/report":
        return "delivery or read report"
    if AUTOMATIC_SENDERS.match(result.sender_email or ""):
        return f"sent by {result.sender_email}"
    return ""


def _read_body(message: Message, result: ParsedEmail) -> None:
    texts: list[str] = []
    htmls: list[str] = []
    for part in _leaves(message, result):
        try:
            disposition = part.get_content_disposition()
            filename = part.get_filename()
            content_type = part.get_content_type()
        except Exception as exc:  # noqa: BLE001
            result.problems.append(f"unreadable part: {exc}")
            continue
        is_text = content_type in ("text/plain", "text/html")
        if disposition == "attachment" or filename or not is_text:
            payload = _payload(part, result)
            if payload is not None and content_type != "message/delivery-status":
                name = _clean_name(filename or "", content_type)
                result.attachments.append(Attachment(name, content_type, payload))
            continue
        text = _text(part, result)
        if text is None:
            continue
        (htmls if content_type == "text/html" else texts).append(text)
    result.html = "\n".join(htmls).replace("\x00", "")
    result.text = "\n\n".join(t.strip() for t in texts if t.strip()).replace("\x00", "")
    if not result.text and result.html:
        result.text = text_from_html(result.html)


def _leaves(part: Message, result: ParsedEmail, depth: int = 0) -> list[Message]:
    """The parts to read, in order. A forwarded message (message/rfc822) is
    one part, kept whole as an .eml, not merged into this one's text."""
    try:
        if part.get_content_type() == "message/rfc822" or not part.is_multipart():
            return [part]
        children = part.get_payload()
    except Exception as exc:  # noqa: BLE001
        result.problems.append(f"unreadable structure: {exc}")
        return []
    if depth > 20 or not isinstance(children, list):
        result.problems.append("nested too deep")
        return []
    return [
        leaf
        for child in children
        if isinstance(child, Message)
        for leaf in _leaves(child, result, depth + 1)
    ]


def _payload(part: Message, result: ParsedEmail) -> bytes | None:
    try:
        if part.get_content_type() == "message/rfc822":
            inner = part.get_payload()
            inner = inner[0] if isinstance(inner, list) and inner else inner
            return inner.as_bytes() if isinstance(inner, Message) else None
        payload = part.get_payload(decode=True)
    except Exception as exc:  # noqa: BLE001
        result.problems.append(f"undecodable attachment: {exc}")
        return None
    return payload if isinstance(payload, bytes) else None


def _text(part: Message, result: ParsedEmail) -> str | None:
    try:
        payload = part.get_payload(decode=True)
    except Exception as exc:  # noqa: BLE001
        result.problems.append(f"undecodable text: {exc}")
        return None
    if not isinstance(payload, bytes):
        return None
    charset = part.get_content_charset() or "utf-8"
    try:
        return payload.decode(charset, errors="replace")
    except Exception:  # noqa: BLE001 - unknown (LookupError) or unusable (idna) charsets
        result.problems.append(f"unknown character set {charset!r}; read as UTF-8")
        return payload.decode("utf-8", errors="replace")


def _clean_name(filename: str, content_type: str) -> str:
    name = re.sub(r"[\x00-\x1f/\\]", "_", filename).strip() or "attachment"
    if name == "attachment" and content_type == "message/rfc822":
        name = "forwarded.eml"
    elif name == "attachment" and "/" in content_type:
        name = f"attachment.{content_type.split('/')[1][:10]}"
    return name[-255:]


def sanitize_html(source: str) -> str:
    """The customer's HTML, safe to show to staff."""
    return nh3.clean(
        source, tags=SAFE_TAGS, attributes=SAFE_ATTRIBUTES, link_rel="noopener nofollow"
    )


def text_from_html(source: str) -> str:
    spaced = re.sub(r"(?i)<\s*(br|/p|/div|/li|/tr|/h\d)\s*/?>", "\n", source)
    return html.unescape(nh3.clean(spaced, tags=set())).strip()
