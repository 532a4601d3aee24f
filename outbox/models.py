"""The outbox: a row per outgoing email or webhook, written in the same
transaction as the change that causes it. The row, not a broker message, is
the source of truth; the message it delivers is composed by its source
(``outbox.sources``) when it is sent."""

from django.db import models
from django.db.models import Q

from core import clock


class OutboxItem(models.Model):
    class Kind(models.TextChoices):
        EMAIL = "email", "Email"
        WEBHOOK = "webhook", "Webhook"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    # Which registered source composes it ("tickets.message"), and its row there.
    source = models.CharField(max_length=40)
    source_id = models.BigIntegerField()
    kind = models.CharField(max_length=10, choices=Kind.choices)
    # The Message-ID of the email, or the webhook's delivery id: the same on
    # every attempt, so a receiver can drop a duplicate.
    message_id = models.CharField(max_length=255)
    # For the people reading the admin: what it is, and to whom.
    reference = models.CharField(max_length=200, blank=True)
    recipient = models.CharField(max_length=500, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    # When it may be sent next: on creation, or after a temporary failure.
    due_at = models.DateTimeField(default=clock.now)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    # The first temporary failure of the current run of them: retries end
    # HELPDESK_OUTBOX_RETRY_FOR after it.
    first_failure_at = models.DateTimeField(null=True, blank=True)
    # A worker's claim: its batch's token, and when the claim lapses unless renewed.
    lease_token = models.UUIDField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=clock.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    # When its source recorded the delivery (a follow-up marked sent): with
    # the batch's others, after the sends; by the sweep for a worker that died.
    recorded_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["source", "source_id"], name="outbox_one_per_source"),
            models.CheckConstraint(
                condition=Q(status__in=["pending", "sending", "sent", "failed", "cancelled"]),
                name="outbox_status_valid",
            ),
            models.CheckConstraint(
                condition=~Q(status="sending")
                | Q(lease_token__isnull=False, lease_until__isnull=False),
                name="outbox_sending_has_lease",
            ),
            models.CheckConstraint(
                condition=~Q(status="sent") | Q(sent_at__isnull=False),
                name="outbox_sent_has_time",
            ),
        ]
        indexes = [
            # The dispatcher's and the sweep's query: what is due, oldest first.
            models.Index(fields=["due_at", "id"], name="outbox_due", condition=Q(status="pending")),
            # The sweep's reclaim of lapsed leases.
            models.Index(
                fields=["lease_until"], name="outbox_leased", condition=Q(status="sending")
            ),
            models.Index(fields=["lease_token"], name="outbox_lease_token"),
            # The sweep's look for deliveries no source has recorded.
            models.Index(
                fields=["sent_at"],
                name="outbox_unrecorded",
                condition=Q(status="sent", recorded_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.reference or self.source_id}: {self.status}"
