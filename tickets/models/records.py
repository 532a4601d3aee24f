from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q

from core import clock


class Commitment(models.Model):
    """What we promised the customer, and by when. Kept or late is derived
    from when it was fulfilled."""

    ticket = models.ForeignKey(
        "tickets.Ticket", on_delete=models.PROTECT, related_name="commitments"
    )
    promise = models.TextField()
    due_at = models.DateTimeField()
    value_restated = models.TextField(
        blank=True, help_text="The value behind the broken promise, said again."
    )
    made_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=clock.now)
    fulfilled_at = models.DateTimeField(null=True, blank=True)
    fulfilment_note = models.TextField(blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["ticket"],
                condition=Q(fulfilled_at__isnull=True),
                name="tickets_one_open_commitment_per_ticket",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.promise[:60]} (due {self.due_at:%Y-%m-%d %H:%M})"

    @property
    def kept(self) -> bool | None:
        """True if fulfilled by its due time, False if late, None while open."""
        if self.fulfilled_at is None:
            return None
        return self.fulfilled_at <= self.due_at


class AppendOnlyError(RuntimeError):
    pass


class TicketEvent(models.Model):
    """The ticket's history, append-only: who did what, when, from which
    status to which, with the step's content. The database refuses updates
    and deletes too (migration 0002)."""

    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.PROTECT, related_name="events")
    # Empty when the system or the customer acted.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    action = models.CharField(max_length=40)
    from_status = models.CharField(max_length=20, blank=True)
    to_status = models.CharField(max_length=20, blank=True)
    payload = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["ticket", "created_at"], name="tickets_event_ticket_time")]

    def __str__(self) -> str:
        moved = f" {self.from_status}->{self.to_status}" if self.to_status else ""
        return f"{self.action}{moved} at {self.created_at:%Y-%m-%d %H:%M}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnlyError("Ticket events cannot be changed once written.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise AppendOnlyError("Ticket events cannot be deleted.")


class Alert(models.Model):
    """A notice to staff about a ticket (a missed target, a repeat failure),
    emailed once by a task and kept for the console."""

    class Kind(models.TextChoices):
        ACKNOWLEDGE_BREACH = "acknowledge_breach", "Acknowledgement target missed"
        APOLOGY_BREACH = "apology_breach", "Apology target missed"
        REPEAT_FAILURE = "repeat_failure", "Repeat failure"
        TRUST_AT_RISK = "trust_at_risk", "New mishap for a customer whose trust is at risk"
        APPROVAL_REQUESTED = "approval_requested", "Restitution awaiting approval"
        APPROVAL_DECIDED = "approval_decided", "Approval decided"
        FOLLOWUP_FAILED = "followup_failed", "Follow-up could not be sent"
        LOW_RATING = "low_rating", "Low rating after recovery"
        RATING_RAISED = "rating_raised", "Low rating taken back"
        EMAIL_FAILED = "email_failed", "Email to the customer could not be delivered"

    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.CASCADE, related_name="alerts")
    kind = models.CharField(max_length=40, choices=Kind.choices)
    detail = models.TextField()
    recipients = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="+", blank=True)
    created_at = models.DateTimeField(default=clock.now)
    # Its email's delivery, kept by the outbox (tickets/services/alerts.py).
    sent_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.ticket_id}"
