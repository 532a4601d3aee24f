"""Who wrote a message: the address to answer (``Reply-To``, else ``From``,
else ``Sender``) and the person's name (``From``'s, else ``Reply-To``'s), as
a mail client reads them, even from a ``From`` written without brackets
(``Big Bug bb@bug.com``) or with the name as a comment (``jo@x.com (Jo)``).

The first of those addresses that can be written to is taken
(``core.addresses.validate_mailbox``); when none can, the first given, which
the services then quarantine, naming it."""

import re
import unicodedata
from email.message import Message
from email.utils import getaddresses

from core.addresses import can_be_written_to
from inbound.bodies import decode_words

MAX_NAME_CHARS = 200
# An address anywhere in a header's text: what a reader would pick out of
# "Big Bug bb@bug.com".
_ADDRESS = re.compile(r"[^\s<>\"'(),;:@\[\]]+@[^\s<>\"'(),;:@\[\]]+")


def read_sender(message: Message, problems: list[str]) -> tuple[str, str]:
    """(name, address); ("", "") when no header names anyone. The address is
    the first of Reply-To, From and Sender that can be written to; failing
    that, the first given (which the services quarantine, naming it)."""
    found = {name: _mailbox(message, name, problems) for name in ("From", "Reply-To", "Sender")}
    given = [a for _, a in (found["Reply-To"], found["From"], found["Sender"]) if a]
    address = next((a for a in given if can_be_written_to(a.lower())), given[0] if given else "")
    name = next((n for n, _ in (found["From"], found["Reply-To"], found["Sender"]) if n), "")
    return _clean_name(name, address), address.lower()


def _mailbox(message: Message, header: str, problems: list[str]) -> tuple[str, str]:
    parsed, written = _read(message, header, problems)
    # With encoded words, as written first: Python's parser puts spaces
    # between adjacent ones ("Чаплы гина"), which RFC 2047 says to join.
    # Otherwise its reading first: it knows comments and quoted pairs.
    # A name only a comment gives (jo@x.com (Jo)) is in the second reading.
    order = (written, parsed) if "=?" in written else (parsed, written)
    found = [
        (decode_words(name), address)
        for source in order
        if source
        for name, address in getaddresses([source])
        if _plain(address)
    ]
    if found:
        address = found[0][1]
        same = [name for name, other in found if name and other.lower() == address.lower()]
        return (same[0] if same else ""), address
    # No address a parser could make out: the one a reader would see.
    text = decode_words(written)
    candidates = {match.lower(): match for match in _ADDRESS.findall(text)}
    if len(candidates) == 1:
        (address,) = candidates.values()
        return text.replace(address, " ").strip(" \t<>\"'()"), address
    return "", ""


def _read(message: Message, header: str, problems: list[str]) -> tuple[str, str]:
    """The header as the parser reads it, and as it was written (raw 8-bit
    bytes read as UTF-8, encoded words left for the caller)."""
    try:
        value = message.get(header)
        parsed = str(value) if value is not None else ""
        raw = next((v for k, v in message.raw_items() if k.lower() == header.lower()), "")
    except Exception as exc:  # noqa: BLE001 - a header Python cannot decode
        problems.append(f"unreadable {header} header: {exc}")
        return "", ""
    written = str(raw).encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return parsed.replace("\x00", ""), " ".join(written.replace("\x00", "").split())


def _plain(address: str) -> bool:
    local, at, domain = address.strip().rpartition("@")
    return bool(at and local and domain) and not any(c in address for c in ' "\t<>')


def _clean_name(name: str, address: str) -> str:
    """One line, no control characters, spaces folded; not the address again."""
    name = "".join(" " if unicodedata.category(ch)[0] == "C" else ch for ch in name)
    name = " ".join(name.split())
    if len(name) > 1 and name[0] == name[-1] and name[0] in "'\"":
        name = name[1:-1].strip()
    if name.lower() == address.lower():
        return ""
    return name[:MAX_NAME_CHARS]
