from django.db import models
from django.db.models import Q

from core import clock


class InboundEmail(models.Model):
    """One message as it arrived, kept raw before anything reads it, so a
    message that cannot be handled is quarantined, never lost."""

    class Status(models.TextChoices):
        RECEIVED = "received", "Received"
        PROCESSED = "processed", "Added to a ticket"
        IGNORED = "ignored", "Ignored (automatic or our own)"
        QUARANTINED = "quarantined", "Quarantined"
        DISCARDED = "discarded", "Discarded by an admin"

    class Outcome(models.TextChoices):
        NEW_TICKET = "new_ticket", "New ticket"
        REPLY = "reply", "Reply on a ticket"
        REOPENED = "reopened", "Reply that reopened a ticket"

    raw = models.BinaryField()
    size = models.PositiveIntegerField()
    source = models.CharField(max_length=20, help_text="pipe, http or imap")
    # The Message-ID, or a digest of the bytes when there is none: a second
    # delivery of the same message is a duplicate.
    dedupe_key = models.CharField(max_length=255, unique=True)
    message_id = models.CharField(max_length=255, blank=True)
    sender = models.CharField(max_length=254, blank=True)
    subject = models.CharField(max_length=300, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.RECEIVED)
    outcome = models.CharField(max_length=12, choices=Outcome.choices, blank=True)
    reason = models.TextField(blank=True, help_text="Why it was ignored or quarantined.")
    retry_can_help = models.BooleanField(
        default=True,
        help_text="False when trying again cannot change the outcome (a sender's address "
        "nobody can write to): discard it, or write to the person another way.",
    )
    ticket = models.ForeignKey(
        "tickets.Ticket", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    ticket_message = models.ForeignKey(
        "tickets.Message", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    received_at = models.DateTimeField(default=clock.now, db_index=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    status__in=["received", "processed", "ignored", "quarantined", "discarded"]
                ),
                name="inbound_status_valid",
            ),
        ]
        indexes = [models.Index(fields=["status", "-received_at"], name="inbound_status_time")]
        permissions = [("ingest_email", "Can hand raw email to the desk (mail gateway)")]

    def __str__(self) -> str:
        return f"{self.message_id or 'no Message-ID'} from {self.sender or 'unknown'}"
