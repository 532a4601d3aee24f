"""Who wrote a message: the address to answer (``Reply-To``, else ``From``,
else ``Sender``) and the person's name (``From``'s, else ``Reply-To``'s), as
a mail client reads them, even from a ``From`` written without brackets
(``Big Bug bb@bug.com``) or with the name as a comment (``jo@x.com (Jo)``).

Whether the address can be written to is decided by the services
(``core.addresses.validate_mailbox``), which quarantine what cannot."""

import re
import unicodedata
from email.message import Message
from email.utils import getaddresses, parseaddr

from inbound.bodies import decode_words

MAX_NAME_CHARS = 200
# An address anywhere in a header's text: what a reader would pick out of
# "Big Bug bb@bug.com".
_ADDRESS = re.compile(r"[^\s<>\"'(),;:@\[\]]+@[^\s<>\"'(),;:@\[\]]+")


def read_sender(message: Message, problems: list[str]) -> tuple[str, str]:
    """(name, address); ("", "") when no header names anyone."""
    found = {name: _mailbox(message, name, problems) for name in ("From", "Reply-To", "Sender")}
    address = next((a for _, a in (found["Reply-To"], found["From"], found["Sender"]) if a), "")
    name = next((n for n, _ in (found["From"], found["Reply-To"], found["Sender"]) if n), "")
    return _clean_name(name, address), address.lower()


def _mailbox(message: Message, header: str, problems: list[str]) -> tuple[str, str]:
    parsed, written = _read(message, header, problems)
    for name, address in getaddresses([parsed]) if parsed else []:
        if _plain(address):
            return name or _comment_name(written), address
    # No address the parser could make out: the one a reader would see.
    candidates = {match.lower(): match for match in _ADDRESS.findall(written)}
    if len(candidates) == 1:
        (address,) = candidates.values()
        name = written.replace(address, " ").strip(" \t<>\"'()")
        return name, address
    return "", ""


def _read(message: Message, header: str, problems: list[str]) -> tuple[str, str]:
    """The header as the parser reads it, and as it was written (its encoded
    words decoded; raw 8-bit bytes read as UTF-8)."""
    try:
        value = message.get(header)
        parsed = str(value) if value is not None else ""
        raw = next((v for k, v in message.raw_items() if k.lower() == header.lower()), "")
    except Exception as exc:  # noqa: BLE001 - a header Python cannot decode
        problems.append(f"unreadable {header} header: {exc}")
        return "", ""
    written = str(raw).encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    written = decode_words(written)
    return parsed.replace("\x00", ""), " ".join(written.replace("\x00", "").split())


def _plain(address: str) -> bool:
    local, at, domain = address.strip().rpartition("@")
    return bool(at and local and domain) and not any(c in address for c in ' "\t<>')


def _comment_name(written: str) -> str:
    """The name of ``jo@x.com (Jo Bloggs)``, an older way of writing it."""
    name, _ = parseaddr(written)
    return name


def _clean_name(name: str, address: str) -> str:
    """One line, no control characters, spaces folded; not the address again."""
    name = "".join(" " if unicodedata.category(ch)[0] == "C" else ch for ch in name)
    name = " ".join(name.split()).strip(" '\"")
    if name.lower() == address.lower():
        return ""
    return name[:MAX_NAME_CHARS]
