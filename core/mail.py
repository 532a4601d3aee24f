"""The customer emails' MIME class."""

import uuid
from typing import Any

from django.core.mail import EmailMultiAlternatives


class CustomerMail(EmailMultiAlternatives):
    """An email with text and HTML bodies whose multipart boundary is drawn
    here. Python's generator, handed a multipart message without one, draws
    a boundary and then scans the whole text with a regex compiled for the
    purpose to prove it unused: a fifth of building a follow-up's MIME. A
    boundary of 128 random bits needs no proof."""

    def message(self, **kwargs: Any) -> Any:
        mime = super().message(**kwargs)
        if mime.is_multipart() and mime.get_boundary() is None:
            mime.set_boundary(f"==helpdesk-{uuid.uuid4().hex}==")
        return mime
