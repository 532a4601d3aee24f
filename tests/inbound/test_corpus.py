"""Real-world messages from a public corpus not written for this project
(CPython's email test data: tests/inbound/corpus/README.md). Each one is
kept raw and ends handled, ignored or quarantined; no exception escapes."""

from pathlib import Path

import pytest

from inbound.models import InboundEmail
from inbound.services import inbound_receive

pytestmark = pytest.mark.django_db

CORPUS = sorted((Path(__file__).parent / "corpus" / "cpython").glob("msg_*.txt"))
FINAL = {
    InboundEmail.Status.PROCESSED,
    InboundEmail.Status.IGNORED,
    InboundEmail.Status.QUARANTINED,
}


def test_the_corpus_is_there() -> None:
    assert len(CORPUS) == 48


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.name)
def test_every_message_is_kept_and_settled(path: Path) -> None:
    raw = path.read_bytes()

    email = inbound_receive(raw=raw, source="pipe").email

    email.refresh_from_db()
    assert bytes(email.raw) == raw
    assert email.status in FINAL
    if email.status == InboundEmail.Status.PROCESSED:
        assert email.ticket is not None
        assert email.ticket_message is not None
    else:
        assert email.reason


def test_the_corpus_outcomes_are_sensible() -> None:
    """The bounces and reports are ignored, most messages become tickets, and
    those with no sender are quarantined, not dropped."""
    statuses = {}
    for path in CORPUS:
        statuses[path.name] = inbound_receive(raw=path.read_bytes(), source="pipe").email.status

    ignored = {name for name, status in statuses.items() if status == "ignored"}
    quarantined = {name for name, status in statuses.items() if status == "quarantined"}
    assert {"msg_05.txt", "msg_16.txt", "msg_25.txt", "msg_43.txt"} <= ignored
    assert "msg_18.txt" in quarantined  # no From, no body
    assert sum(status == "processed" for status in statuses.values()) >= 25
