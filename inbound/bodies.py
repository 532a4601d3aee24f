"""A message's body as a mail client shows it: one alternative of each
``multipart/alternative`` (the plain one, or the HTML one turned into text
when the plain one is empty or is HTML in disguise), every inline text part
in order (a filename does not make an inline part an attachment), and the
rest as attachments with whole names.

The email package raises many kinds of errors on malformed input, so the
reads below catch Exception on purpose (BLE001): one bad part costs that
part, not the message."""

import html
import mimetypes
import re
from dataclasses import dataclass, field
from email.header import decode_header, make_header
from email.message import Message

import nh3
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
    """One inline text part: plain text, or HTML (``html`` set), whose words
    are worked out only when asked for (a 5 MB table costs seconds, and
    most HTML alternatives are never shown as text)."""

    plain: str = ""
    html: str = ""
    _words: str | None = field(default=None, repr=False)

    @property
    def text(self) -> str:
        if not self.html:
            return self.plain
        if self._words is None:
            self._words = text_from_html(self.html)
        return self._words


@dataclass
class Body:
    pieces: list[Piece] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    # Text parts sent inline with a file name: attachments, unless the
    # message has no other text (then they are what a client shows).
    inline_files: list[tuple[Piece, Attachment]] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n\n".join(p.text.strip() for p in self.pieces if p.text.strip())

    @property
    def html(self) -> str:
        return "\n".join(p.html for p in self.pieces if p.html)


def read_body(message: Message, problems: list[str]) -> Body:
    body = Body()
    _read(message, body, problems, depth=0)
    if body.inline_files and not body.text:
        # The only text is in parts with a file name (a fable sent as
        # "inline; filename=..."): a mail client shows them as the message.
        body.pieces.extend(piece for piece, _ in body.inline_files)
    else:
        body.attachments.extend(attachment for _, attachment in body.inline_files)
    body.inline_files = []
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
        _read_text(part, content_type, disposition, body, problems)
    elif content_type != "message/delivery-status":
        _attach(part, content_type, body, problems)


def _read_text(
    part: Message, content_type: str, disposition: str | None, body: Body, problems: list[str]
) -> None:
    filename = _filename(part)
    if filename and disposition is None:
        # A named part nobody said to show (Content-Type's name=): a file.
        _attach(part, content_type, body, problems)
        return
    text = _text(part, problems)
    if text is None:
        return
    piece = Piece(html=text) if content_type == "text/html" else Piece(plain=text)
    attachment = _attachment(part, content_type, problems) if filename else None
    if attachment is not None:  # inline, with a name: a file unless it is all the text
        body.inline_files.append((piece, attachment))
    else:
        body.pieces.append(piece)


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
            if not piece.html and _LOOKS_LIKE_HTML.match(piece.plain):
                piece.html, piece.plain = piece.plain, ""
        read.append(own)
        body.attachments.extend(own.attachments)
        body.inline_files.extend(own.inline_files)
    plain = next(
        (own for own in read if all(not p.html for p in own.pieces) and own.text),
        None,
    )
    rich = next((own for own in reversed(read) if own.html), None)
    if plain is not None and rich is not None and _placeholder(plain.text, rich):
        plain = None
    if plain is not None:
        shown = Piece(plain=plain.text, html=rich.html if rich else "")
        shown._words = plain.text  # the plain words, whatever the HTML says
        body.pieces.append(shown)
    elif rich is not None:
        body.pieces.append(Piece(html=rich.html))


def _placeholder(plain: str, rich: Body) -> bool:
    """A plain alternative that only says to read the HTML one ("This is an
    HTML message. Please use an HTML capable mail program"): the HTML's
    words are the sender's."""
    return len(plain) < 300 and "html" in plain.lower() and len(rich.text) > 2 * len(plain)


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
    attachment = _attachment(part, content_type, problems)
    if attachment is not None:
        body.attachments.append(attachment)


def _attachment(part: Message, content_type: str, problems: list[str]) -> Attachment | None:
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
        return None
    if not isinstance(payload, bytes):
        return None
    return Attachment(attachment_name(filename, content_type), content_type, payload)


def _filename(part: Message) -> str:
    name = part.get_filename() or ""
    if any("\udc80" <= ch <= "\udcff" for ch in name):  # raw 8-bit bytes: read as UTF-8
        name = name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    # compat32 (see parsing._structure) leaves a name's encoded words as they are.
    return decode_words(name)


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


# Above this, the layout engine costs seconds and hundreds of MB, and a
# message's text is cut at 100,000 characters anyway: tags are stripped.
MAX_LAID_OUT_HTML = 1_000_000


def text_from_html(source: str) -> str:
    """Readable text from an email's HTML, as a mail client lays it out: no
    ``<title>``, ``<style>`` or ``<script>``, whitespace collapsed, blocks
    on their own lines, at most one blank line in a row."""
    source = source.replace("\x00", "")
    text = ""
    if len(source) <= MAX_LAID_OUT_HTML:
        try:
            text = get_text(source, _HTML_TO_TEXT)
        except Exception:  # noqa: BLE001 - lxml refuses some documents; stripped below
            text = ""
    if not text.strip():
        # Too big, refused, or nested past what libxml2 keeps: the words
        # without the markup, rather than nothing.
        head = re.sub(r"(?is)<(head|style|script|title)\b.*?</\1\s*>", " ", source)
        spaced = re.sub(r"(?i)<\s*(br|/p|/div|/li|/tr|/h\d)\s*/?>", "\n", head)
        text = html.unescape(nh3.clean(spaced, tags=set()))
        text = "\n".join(" ".join(line.split()) for line in text.splitlines())
    lines = "\n".join(line.rstrip() for line in text.replace("\xa0", " ").splitlines())
    return re.sub(r"\n{3,}", "\n\n", lines).strip()
