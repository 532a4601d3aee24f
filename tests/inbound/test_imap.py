"""The IMAP poller's rules, against an in-memory mailbox that answers as
imaplib does (no IMAP server is available to the tests)."""

import pytest

from inbound.imap import poll, poll_configured_mailbox
from inbound.models import InboundEmail
from tests.inbound.mail import FakeMailbox, raw_email
from tickets.models import Ticket

pytestmark = pytest.mark.django_db


def test_unseen_messages_are_stored_then_marked_seen() -> None:
    mailbox = FakeMailbox({"1": raw_email(subject="First"), "2": raw_email(subject="Second")})

    result = poll(mailbox, folder="INBOX", batch=10)

    assert (result.stored, result.duplicates) == (2, 0)
    assert set(Ticket.objects.values_list("subject", flat=True)) == {"First", "Second"}
    assert all("\\Seen" in flags for flags in mailbox.flags.values())
    assert set(InboundEmail.objects.values_list("source", flat=True)) == {"imap"}


def test_a_message_that_cannot_be_fetched_stays_unseen_for_the_next_poll() -> None:
    mailbox = FakeMailbox({"1": raw_email(), "2": raw_email()})
    mailbox.fail_fetch.add("2")

    poll(mailbox, folder="INBOX", batch=10)

    assert mailbox.flags == {"1": {"\\Seen"}, "2": set()}


def test_a_message_stored_but_not_marked_is_a_duplicate_next_time() -> None:
    raw = raw_email(message_id="<again@customer.example>")
    poll(FakeMailbox({"1": raw}), folder="INBOX", batch=10)

    # The server never got our \Seen (a crash); the next poll sees it again.
    result = poll(FakeMailbox({"1": raw}), folder="INBOX", batch=10)

    assert (result.stored, result.duplicates) == (0, 1)
    assert InboundEmail.objects.count() == 1


def test_a_message_above_the_limit_is_flagged_for_a_person(settings: object) -> None:
    settings.HELPDESK_INBOUND_MAX_BYTES = 100  # type: ignore[attr-defined]
    mailbox = FakeMailbox({"7": raw_email(body="x" * 500)})

    result = poll(mailbox, folder="INBOX", batch=10)

    assert result.refused == 1
    assert mailbox.flags["7"] == {"\\Seen", "\\Flagged"}
    assert not InboundEmail.objects.exists()


def test_a_batch_takes_only_so_many() -> None:
    mailbox = FakeMailbox({str(n): raw_email() for n in range(1, 6)})

    assert poll(mailbox, folder="INBOX", batch=2).stored == 2


def test_a_missing_folder_is_an_error() -> None:
    import imaplib

    with pytest.raises(imaplib.IMAP4.error, match="Archive"):
        poll(FakeMailbox({}), folder="Archive", batch=10)


def test_without_a_host_the_poller_does_nothing(settings: object) -> None:
    settings.HELPDESK_IMAP_HOST = ""  # type: ignore[attr-defined]

    assert poll_configured_mailbox() is None
