from django.db import models

from core import clock


class WebhookEndpoint(models.Model):
    """A receiver of signed events, configured by admins."""

    class Event(models.TextChoices):
        RESTITUTION_GRANTED = "restitution.granted", "Restitution granted"
        RESTITUTION_VOIDED = "restitution.voided", "Restitution voided"
        APPROVAL_DECIDED = "approval.decided", "Approval decided"

    url = models.URLField(max_length=500)
    secret = models.CharField(
        max_length=200, help_text="Shared secret for the HMAC-SHA256 signature."
    )
    events = models.JSONField(default=list, help_text="The event names sent here.")
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["url"]

    def __str__(self) -> str:
        return self.url


class WebhookDelivery(models.Model):
    """One event for one endpoint, delivered through the outbox after commit."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.CharField(max_length=50)
    # A stable id for the receiver to ignore duplicates.
    event_id = models.CharField(max_length=64, unique=True)
    payload = models.JSONField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    # Counted by the outbox's hooks, which deliver it (recovery/services/webhooks.py).
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=clock.now)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "created_at"], name="recovery_webhook_status")]

    def __str__(self) -> str:
        return f"{self.event} to {self.endpoint_id}: {self.status}"


class WebhookAttempt(models.Model):
    """Every attempt to deliver, for the admins to see what the receiver said."""

    delivery = models.ForeignKey(
        WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log"
    )
    attempted_at = models.DateTimeField(default=clock.now)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["attempted_at", "id"]

    def __str__(self) -> str:
        return f"{self.status_code or self.error[:40]} at {self.attempted_at}"
