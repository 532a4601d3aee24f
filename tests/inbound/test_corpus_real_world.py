"""Real-world messages from the test fixtures of three mail-parsing libraries
(mikel/mail, mailgun/flanker, php-mime-mail-parser: corpus/README.md), each
with what the desk must make of it (corpus/expected.toml). The expectations
were decided by reading each raw message as a person, or a good mail client,
would; not by running our parser, which is what this checks.

Each message is delivered alone, to an empty desk (pytest-django rolls the
database back after every test). The fixtures are variants of a few messages
and share Message-IDs (RFC 2822's examples 01, 02, 08, 09 and 12 are all
<1234@local.machine.example>): delivered to one desk, every variant after the
first would be a duplicate delivery, and nothing of its own would be read."""

import tomllib
from pathlib import Path
from pprint import pformat
from typing import Any

import pytest

from inbound.models import InboundEmail
from inbound.services import inbound_receive

pytestmark = pytest.mark.django_db

CORPUS = Path(__file__).parent / "corpus"
PROJECTS = ("mail", "flanker", "php-mime-mail-parser")
MESSAGES = sorted(
    path.relative_to(CORPUS).as_posix()
    for project in PROJECTS
    for path in (CORPUS / project).glob("*.eml")
)
EXPECTED: dict[str, dict[str, Any]] = tomllib.loads(
    (CORPUS / "expected.toml").read_text(encoding="utf-8")
)
OUTCOMES = {"ticket", "reply", "ignored", "quarantined"}

Status = InboundEmail.Status


def test_the_corpus_is_there_and_every_message_has_its_expectation() -> None:
    assert len(MESSAGES) >= 200
    assert sorted(EXPECTED) == MESSAGES
    for name, entry in EXPECTED.items():
        assert entry["outcome"] in OUTCOMES, name
        needed = {"why"} if entry["outcome"] in ("ignored", "quarantined") else {"snippet", "name"}
        assert needed | {"outcome", "sender"} <= set(entry), name


@pytest.mark.parametrize("name", MESSAGES)
def test_the_message_ends_as_a_reader_would_expect(name: str) -> None:
    expected = EXPECTED[name]
    raw = (CORPUS / name).read_bytes()

    email = inbound_receive(raw=raw, source="pipe").email

    email.refresh_from_db()
    actual = _what_the_desk_made_of(email)  # shown whole when an assertion fails
    assert bytes(email.raw) == raw
    assert not email.reason.startswith("Could not be handled"), actual
    assert (_outcome(email), email.sender) == (expected["outcome"], expected["sender"]), actual
    if expected["outcome"] in ("ignored", "quarantined"):
        missing = [w for w in expected["why"].lower().split() if w not in email.reason.lower()]
        assert not missing, actual
        return
    assert email.ticket is not None
    assert email.ticket_message is not None
    if expected["snippet"]:
        assert _collapsed(expected["snippet"]) in _collapsed(email.ticket_message.body), actual
    else:
        # No words at all, only files: the files are what the customer sent.
        assert email.ticket_message.attachments.exists(), actual
    for hidden in expected.get("not_in_body", []):
        assert _collapsed(hidden) not in _collapsed(email.ticket_message.body), actual
    customer = email.ticket.customer
    assert customer.email == expected["sender"], actual
    if expected["name"]:
        assert customer.name == expected["name"], actual
    else:
        # No display name: the desk names the customer after the address.
        assert customer.name in ("", expected["sender"], expected["sender"].split("@")[0]), actual


def _what_the_desk_made_of(email: InboundEmail) -> str:
    """Everything a failure needs to show. A string, which pytest prints
    whole (it shortens the repr of other objects)."""
    summary: dict[str, Any] = {
        "outcome": _outcome(email),
        "reason": email.reason,
        "sender": email.sender,
    }
    if email.ticket is not None:
        summary["customer"] = (email.ticket.customer.email, email.ticket.customer.name)
    if email.ticket_message is not None:
        summary["body"] = email.ticket_message.body[:200]
        summary["attachments"] = list(
            email.ticket_message.attachments.values_list("name", flat=True)[:10]
        )
    return pformat(summary, width=100, sort_dicts=False)


def _outcome(email: InboundEmail) -> str:
    if email.status == Status.PROCESSED:
        return "ticket" if email.outcome == InboundEmail.Outcome.NEW_TICKET else "reply"
    return str(email.status)  # "ignored", "quarantined" (or a status no message should keep)


def _collapsed(text: str) -> str:
    return " ".join(text.split())
