import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from core import clock


class Message(models.Model):
    """One entry of a ticket's conversation: a public reply (emailed to the
    customer when an agent writes it), an internal note, or the customer's
    own words."""

    class Author(models.TextChoices):
        AGENT = "agent", "Agent"
        CUSTOMER = "customer", "Customer"
        SYSTEM = "system", "System"

    class Delivery(models.TextChoices):
        NOT_SENT = "not_sent", "Not emailed"
        PENDING = "pending", "Waiting to be sent"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.PROTECT, related_name="messages")
    public = models.BooleanField(default=True)
    author_kind = models.CharField(max_length=10, choices=Author.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    body = models.TextField()
    # A customer's HTML email, sanitized for display (inbound mail); empty otherwise.
    body_html = models.TextField(blank=True)
    # Who sent an inbound email, when it was not the ticket's customer (a
    # colleague of theirs answering the thread): shown, so nobody mistakes it.
    from_address = models.EmailField(max_length=254, blank=True)
    # The lifecycle step this message carries (acknowledge, apologize...), if any.
    step = models.CharField(max_length=20, blank=True)
    created_at = models.DateTimeField(default=clock.now)

    # Email threading: ours for outbound messages, the sender's for inbound.
    email_message_id = models.CharField(max_length=255, null=True, blank=True, unique=True)
    delivery_status = models.CharField(
        max_length=10, choices=Delivery.choices, default=Delivery.NOT_SENT
    )
    # Kept by the outbox as it sends (tickets/services/delivery.py).
    delivery_attempts = models.PositiveIntegerField(default=0)
    delivery_error = models.TextField(blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["ticket", "created_at"], name="tickets_message_ticket_time"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(public=True) | Q(delivery_status="not_sent"),
                name="tickets_message_notes_never_emailed",
            ),
            models.CheckConstraint(
                condition=~Q(author_kind="agent") | Q(author__isnull=False),
                name="tickets_message_agent_has_author",
            ),
        ]

    def __str__(self) -> str:
        kind = "reply" if self.public else "note"
        return f"{kind} by {self.author_kind} on ticket {self.ticket_id}"


def attachment_path(attachment: "Attachment", filename: str) -> str:
    # The stored name is not the customer's: a random name keeps paths unguessable
    # and free of anything a filename could carry.
    return f"attachments/{clock.now():%Y/%m}/{uuid.uuid4().hex}"


class Attachment(models.Model):
    """A file sent with a message. Staff download it through the console, which
    checks that they may see the ticket; it is never served from a public URL."""

    message = models.ForeignKey(Message, on_delete=models.PROTECT, related_name="attachments")
    file = models.FileField(upload_to=attachment_path, max_length=255)
    name = models.CharField(max_length=255, help_text="The file's name as sent.")
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name
