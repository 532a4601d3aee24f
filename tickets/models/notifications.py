from django.conf import settings
from django.db import models
from django.db.models import Q

from core import clock


class NotificationKind(models.TextChoices):
    """What a person can be told about, each chosen in-app, by email or both."""

    ASSIGNED = "assigned", "A ticket is assigned to you"
    CUSTOMER_REPLIED = "customer_replied", "The customer replied"
    CUSTOMER_REOPENED = "customer_reopened", "The customer reopened a ticket"
    LOW_RATING = "low_rating", "A rating of 1 or 2"
    APPROVAL_DECIDED = "approval_decided", "Your approval request was decided"
    TARGET_NEAR = "target_near", "A target is about to be missed"
    TARGET_MISSED = "target_missed", "A target was missed"
    COMMITMENT_DUE = "commitment_due", "A promise is nearly due"


class Notification(models.Model):
    """One thing one person was told about one ticket: shown in their inbox
    (``in_app``) and emailed with a link (``email``), as they chose for its
    kind when it was made. ``key`` names the occurrence for the kinds a
    periodic check raises (a target near, a promise due), so each is told
    once."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    ticket = models.ForeignKey(
        "tickets.Ticket", on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(max_length=30, choices=NotificationKind.choices)
    text = models.TextField()
    key = models.CharField(max_length=120, blank=True)
    in_app = models.BooleanField(default=True)
    email = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=clock.now)
    read_at = models.DateTimeField(null=True, blank=True)
    # Its email's delivery, kept by the outbox (tickets/services/notifications.py).
    emailed_at = models.DateTimeField(null=True, blank=True)
    email_error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["recipient", "-created_at", "-id"],
                condition=Q(in_app=True),
                name="tickets_notification_inbox",
            ),
            models.Index(
                fields=["recipient"],
                condition=Q(in_app=True, read_at__isnull=True),
                name="tickets_notification_unread",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["recipient", "kind", "key"],
                condition=~Q(key=""),
                name="tickets_notification_once_per_key",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for {self.recipient_id}: {self.text[:60]}"


class NotificationPreference(models.Model):
    """How one person wants one kind: in the inbox, by email, both or neither.
    No row means the default for the kind (``tickets.selectors.DEFAULT_CHANNELS``)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preferences"
    )
    kind = models.CharField(max_length=30, choices=NotificationKind.choices)
    in_app = models.BooleanField(default=True)
    email = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "kind"], name="tickets_notification_preference_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.kind}: in-app {self.in_app}, email {self.email}"
