"""A message's body as a mail client shows it: one alternative of each
``multipart/alternative`` (the plain one, or the HTML one turned into text
when the plain one is empty or is HTML in disguise), every inline text part
in order (a filename does not make an inline part an attachment), and the
rest as attachments with whole names.

The email package raises many kinds of errors on malformed input, so the
reads below catch Exception on purpose (BLE001): one bad part costs that
part, not the message."""

import mimetypes
import re
from dataclasses import dataclass, field
from email.header import decode_header, make_header
from email.message import Message

from inscriptis import get_text
from inscriptis.css_profiles import CSS_PROFILES
from inscriptis.model.config import ParserConfig

MAX_DEPTH = 20

# Inscriptis's strict profile: block elements start lines, inline ones do
# not indent (its relaxed default pads every <div> with spaces).
_HTML_TO_TEXT = ParserConfig(css=CSS_PROFILES["strict"])
# A "text/plain" part that is really HTML: it opens with a tag a page or a
# mail editor starts with.
_LOOKS_LIKE_HTML = re.compile(
    r"\A\s*<(!doctype\s+html|html|head|body|div|p|table|span|br|meta|font)\b", re.I
)


@dataclass
class Attachment:
    name: str
    content_type: str
    content: bytes


@dataclass
class Piece:
    """One inline text part: plain text, or HTML (``html`` set, ``text`` its words)."""

    text: str
    html: str = ""


@dataclass
class Body:
    pieces: list[Piece] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n\n".join(p.text.strip() for p in self.pieces if p.text.strip())

    @property
    def html(self) -> str:
        return "\n".join(p.html for p in self.pieces if p.html)


def read_body(message: Message, problems: list[str]) -> Body:
    body = Body()
    _read(message, body, problems, depth=0)
    return body


def _read(part: Message, body: Body, problems: list[str], depth: int) -> None:
    if depth > MAX_DEPTH:
        problems.append("nested too deep")
        return
    try:
        content_type = part.get_content_type()
        children = part.get_payload() if part.is_multipart() else None
        disposition = part.get_content_disposition()
    except Exception as exc:  # noqa: BLE001
        problems.append(f"unreadable part: {exc}")
        return
    if content_type == "message/rfc822":
        # A forwarded message is one part, kept whole as an .eml, not merged into this one's text.
        _attach(part, content_type, body, problems)
    elif content_type.startswith("multipart/") and not isinstance(children, list):
        # Its parts could not be found (no boundary, or one never used): what
        # it holds is no file the sender attached, and no text they wrote.
        problems.append(f"a {content_type} part whose parts could not be found")
    elif isinstance(children, list):
        readable = [child for child in children if isinstance(child, Message)]
        if content_type == "multipart/alternative":
            _choose_alternative(readable, body, problems, depth)
        else:
            for child in readable:
                _read(child, body, problems, depth + 1)
    elif content_type in ("text/plain", "text/html") and disposition != "attachment":
        text = _text(part, problems)
        if text is None:
            return
        if content_type == "text/html":
            body.pieces.append(Piece(text_from_html(text), html=text))
        else:
            body.pieces.append(Piece(text))
    elif content_type != "message/delivery-status":
        _attach(part, content_type, body, problems)


def _choose_alternative(
    alternatives: list[Message], body: Body, problems: list[str], depth: int
) -> None:
    """One alternative's text: the first plain one that says something and is
    not HTML in disguise, else the richest HTML one's, turned into text. The
    HTML one's markup is kept for showing on demand; every alternative's
    attachments are kept (a calendar invitation, the HTML's inline images)."""
    read: list[Body] = []
    for alternative in alternatives:
        own = Body()
        _read(alternative, own, problems, depth + 1)
        for piece in own.pieces:
            if not piece.html and _LOOKS_LIKE_HTML.match(piece.text):
                piece.html, piece.text = piece.text, text_from_html(piece.text)
        read.append(own)
        body.attachments.extend(own.attachments)
    plain = next(
        (own for own in read if own.text and all(not p.html for p in own.pieces)),
        None,
    )
    rich = next((own for own in reversed(read) if own.html), None)
    if plain is not None and rich is not None and _placeholder(plain.text, rich.text):
        plain = None
    if plain is not None:
        body.pieces.append(Piece(plain.text, html=rich.html if rich else ""))
    elif rich is not None:
        body.pieces.append(Piece(rich.text, html=rich.html))


def _placeholder(plain: str, rich: str) -> bool:
    """A plain alternative that only says to read the HTML one ("This is an
    HTML message. Please use an HTML capable mail program"): the HTML's
    words are the sender's."""
    return len(plain) < 300 and "html" in plain.lower() and len(rich) > 2 * len(plain)


def _text(part: Message, problems: list[str]) -> str | None:
    try:
        payload = part.get_payload(decode=True)
    except Exception as exc:  # noqa: BLE001
        problems.append(f"undecodable text: {exc}")
        return None
    if not isinstance(payload, bytes):
        return None
    charset = part.get_content_charset() or "utf-8"
    try:
        text = payload.decode(charset, errors="replace")
    except Exception:  # noqa: BLE001 - unknown (LookupError) or unusable (idna) charsets
        problems.append(f"unknown character set {charset!r}; read as UTF-8")
        text = payload.decode("utf-8", errors="replace")
    # compat32 (see parsing._structure) keeps the wire's CRLFs.
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _attach(part: Message, content_type: str, body: Body, problems: list[str]) -> None:
    payload: object
    try:
        if content_type == "message/rfc822":
            inner = part.get_payload()
            inner = inner[0] if isinstance(inner, list) and inner else inner
            payload = inner.as_bytes() if isinstance(inner, Message) else None
        else:
            payload = part.get_payload(decode=True)
        filename = _filename(part)
    except Exception as exc:  # noqa: BLE001
        problems.append(f"undecodable attachment: {exc}")
        return
    if isinstance(payload, bytes):
        body.attachments.append(
            Attachment(attachment_name(filename, content_type), content_type, payload)
        )


def _filename(part: Message) -> str:
    # compat32 (see parsing._structure) leaves a name's encoded words as they are.
    return decode_words(part.get_filename() or "")


def decode_words(value: str) -> str:
    """``value`` with its RFC 2047 encoded words decoded; as it is when they
    cannot be."""
    if "=?" not in value:
        return value
    try:
        return str(make_header(decode_header(value)))
    except Exception:  # noqa: BLE001 - an unknown charset, a broken word
        return value


def attachment_name(filename: str, content_type: str) -> str:
    """The sender's file name made safe to store, or a whole one from the
    type: ``forwarded.eml``, ``attachment.pdf``, ``attachment.bin``."""
    name = re.sub(r"[\x00-\x1f\x7f/\\]", "_", filename).strip()
    if not name:
        if content_type == "message/rfc822":
            return "forwarded.eml"
        extension = mimetypes.guess_extension(content_type, strict=False) or ".bin"
        return f"attachment{extension}"
    if len(name) > 255:  # the end holds the extension
        name = name[-255:]
    return name


def text_from_html(source: str) -> str:
    """Readable text from an email's HTML, as a mail client lays it out: no
    ``<title>``, ``<style>`` or ``<script>``, whitespace collapsed, blocks
    on their own lines, at most one blank line in a row."""
    try:
        text = get_text(source, _HTML_TO_TEXT)
    except Exception:  # noqa: BLE001 - lxml refuses some documents (only a comment, say)
        return ""
    lines = "\n".join(line.rstrip() for line in text.replace("\xa0", " ").splitlines())
    return re.sub(r"\n{3,}", "\n\n", lines).strip()
