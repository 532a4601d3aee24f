import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import User
from core.errors import RuleViolation
from tests.delivery import deliver_item
from tests.factories import TicketFactory
from tickets.models import Attachment, Message
from tickets.services import message_create
from tickets.services.delivery import SOURCE as MESSAGES

pytestmark = pytest.mark.django_db


def upload(name: str = "receipt.pdf", size: int = 100) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, b"%" * size, content_type="application/pdf")


def test_a_reply_keeps_its_files_and_emails_them(agent: User) -> None:
    ticket = TicketFactory(actor=agent)

    message = message_create(
        ticket=ticket, actor=agent, body="Here is the label.", public=True, attachments=[upload()]
    )
    assert deliver_item(MESSAGES, message.pk).sent

    stored = message.attachments.get()
    assert (stored.name, stored.size, stored.content_type) == (
        "receipt.pdf",
        100,
        "application/pdf",
    )
    assert stored.file.read() == b"%" * 100
    assert "receipt" not in str(stored.file.name)  # stored under a random name
    [email] = mail.outbox
    assert email.attachments[0][0] == "receipt.pdf"
    assert email.attachments[0][1] == b"%" * 100


def test_a_file_above_the_limit_is_refused_naming_the_limit(agent: User, settings: object) -> None:
    settings.HELPDESK_MAX_ATTACHMENT_BYTES = 1024  # type: ignore[attr-defined]
    ticket = TicketFactory(actor=agent)
    before = Message.objects.count()

    with pytest.raises(RuleViolation, match=r"big\.bin is larger than the limit of 1\.0\xa0KB"):
        message_create(
            ticket=ticket,
            actor=agent,
            body="Too big.",
            public=False,
            attachments=[upload("big.bin", 2048)],
        )

    assert Message.objects.count() == before
    assert not Attachment.objects.exists()


def test_too_many_files_are_refused(agent: User, settings: object) -> None:
    settings.HELPDESK_MAX_ATTACHMENTS = 2  # type: ignore[attr-defined]
    ticket = TicketFactory(actor=agent)

    with pytest.raises(RuleViolation, match="At most 2 files"):
        message_create(
            ticket=ticket,
            actor=agent,
            body="Many.",
            public=False,
            attachments=[upload(f"{n}.pdf") for n in range(3)],
        )

    assert not Attachment.objects.exists()
