"""Files sent with a message: checked before anything is written, so a
refused file leaves no message behind."""

import mimetypes
from collections.abc import Sequence

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.template.defaultfilters import filesizeformat

from core.errors import RuleViolation
from tickets.models import Attachment, Message


def clean_attachments(files: Sequence[UploadedFile]) -> list[UploadedFile]:
    """Refuse too many files, or a file above the size limit, naming the limit."""
    limit_count = settings.HELPDESK_MAX_ATTACHMENTS
    limit_bytes = settings.HELPDESK_MAX_ATTACHMENT_BYTES
    if len(files) > limit_count:
        raise RuleViolation(
            f"At most {limit_count} files can be attached to one message.", field="attachments"
        )
    for upload in files:
        if upload.size is None or upload.size > limit_bytes:
            raise RuleViolation(
                f"{upload.name} is larger than the limit of {filesizeformat(limit_bytes)} "
                "per file.",
                field="attachments",
            )
        if not (upload.name or "").strip():
            raise RuleViolation("A file has no name.", field="attachments")
    return list(files)


def add_attachments(*, message: Message, files: Sequence[UploadedFile]) -> list[Attachment]:
    """For use inside the service that writes ``message``. The files are stored
    first; a rollback after this leaves unreferenced files, never a row
    pointing at nothing."""
    attachments = []
    for upload in files:
        name = (upload.name or "file")[-255:]
        content_type = (
            upload.content_type or mimetypes.guess_type(name)[0] or "application/octet-stream"
        )
        attachment = Attachment(
            message=message, name=name, content_type=content_type[:100], size=upload.size or 0
        )
        attachment.file.save(name, upload, save=False)
        attachment.save()
        attachments.append(attachment)
    return attachments
