"""Raw test emails, built as a mail client would, and received as the pipe would."""

from email.message import EmailMessage
from email.utils import make_msgid

from inbound.models import InboundEmail
from inbound.services import inbound_receive


def raw_email(
    *,
    sender: str = "Pat Customer <pat@example.com>",
    subject: str = "My order never came",
    body: str = "Hello, my parcel is lost.",
    message_id: str | None = None,
    in_reply_to: str | None = None,
    references: str | None = None,
    headers: dict[str, str] | None = None,
    html: str | None = None,
    attachments: list[tuple[str, bytes, str]] | None = None,
) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "help@desk.example"
    message["Subject"] = subject
    message["Message-ID"] = message_id or make_msgid(domain="customer.example")
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
    if references:
        message["References"] = references
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(body)
    if html is not None:
        message.add_alternative(html, subtype="html")
    for name, content, content_type in attachments or []:
        maintype, subtype = content_type.split("/")
        message.add_attachment(content, maintype=maintype, subtype=subtype, filename=name)
    return bytes(message)


def receive(raw: bytes) -> InboundEmail:
    """``raw`` received as the mail pipe would hand it over; its stored row."""
    return inbound_receive(raw=raw, source="pipe").email


class FakeMailbox:
    """An in-memory IMAP mailbox that answers as imaplib does (no IMAP server
    is available to the tests)."""

    def __init__(self, messages: dict[str, bytes]) -> None:
        self.messages = messages
        self.flags: dict[str, set[str]] = {uid: set() for uid in messages}
        self.fail_fetch: set[str] = set()

    def select(self, mailbox: str = "INBOX", readonly: bool = False) -> tuple[str, list[bytes]]:
        return ("OK", [str(len(self.messages)).encode()]) if mailbox == "INBOX" else ("NO", [b""])

    def uid(self, command: str, *args: str) -> tuple[str, list[object]]:
        if command == "SEARCH":
            unseen = [uid for uid in self.messages if "\\Seen" not in self.flags[uid]]
            return "OK", [" ".join(unseen).encode()]
        if command == "FETCH":
            uid = args[0]
            if uid in self.fail_fetch:
                return "NO", [None]
            assert args[1] == "(BODY.PEEK[])"  # fetching must not mark it seen
            return "OK", [(f"{uid} (UID {uid} BODY[] {{n}}".encode(), self.messages[uid]), b")"]
        if command == "STORE":
            uid, _, flags = args
            self.flags[uid] |= set(flags.strip("()").split())
            return "OK", []
        raise AssertionError(command)
