from django.conf import settings
from django.db import models
from django.db.models import Q

from core import clock
from tickets.message_ids import our_message_id
from tickets.models.ticket import REFERENCE_PREFIX


class FollowUpPlan(models.Model):
    """The check-ins after a mishap of one severity; supervisors edit them."""

    severity = models.CharField(max_length=10, unique=True)
    updated_at = clock.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    def __str__(self) -> str:
        return f"Follow-up plan for {self.severity} mishaps"


class FollowUpPlanStep(models.Model):
    """One check-in: how many days after resolution, and what it says. The
    subject and body are Jinja2 templates, checked when saved: they may use
    the placeholders of recovery.followup_templates.PLACEHOLDERS, such as
    {{ customer.name }}, {{ ticket.reference }}, {{ commitment }} (once
    kept), {{ restitutions }} (in force) and {{ process_fixes }} (the done
    ones only), filled in as the mail goes out by
    recovery.services.followup_emails.email_contexts.

    The subject and body are English; ``translations`` holds them in the
    other languages we send in, where a supervisor wrote them:
    ``{"pt-br": {"subject": ..., "body": ...}}``. A customer whose language
    has none reads the English."""

    plan = models.ForeignKey(FollowUpPlan, on_delete=models.CASCADE, related_name="steps")
    offset_days = models.PositiveSmallIntegerField()
    subject_template = models.CharField(max_length=200)
    body_template = models.TextField()
    translations = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["offset_days", "id"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "offset_days"], name="recovery_plan_step_day"),
            models.CheckConstraint(
                condition=Q(offset_days__gte=1, offset_days__lte=365),
                name="recovery_plan_step_within_a_year",
            ),
        ]

    def __str__(self) -> str:
        return f"Day {self.offset_days}: {self.subject_template}"


class FollowUpPlanChange(models.Model):
    """Append-only: who changed a plan, when, and its steps before and after.
    Follow-ups already scheduled keep the text they were scheduled with."""

    plan = models.ForeignKey(FollowUpPlan, on_delete=models.PROTECT, related_name="changes")
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    changed_at = clock.DateTimeField(auto_now_add=True)
    old = models.JSONField(
        help_text="The steps before: [[day, subject, body, {language: {subject, body}}], ...]."
    )
    new = models.JSONField()

    class Meta:
        ordering = ["-changed_at", "-id"]

    def __str__(self) -> str:
        return f"{self.plan} changed by {self.changed_by}"


class FollowUp(models.Model):
    """A check-in scheduled for a customer: beat's sweep hands a due row to
    the outbox, which sends it at least once (deduplicable by Message-ID)."""

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        QUEUED = "queued", "Queued"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.PROTECT, related_name="followups")
    customer = models.ForeignKey(
        "accounts.Customer", on_delete=models.PROTECT, related_name="followups"
    )
    step_number = models.PositiveSmallIntegerField()
    offset_days = models.PositiveSmallIntegerField()
    subject_template = models.CharField(max_length=200)
    body_template = models.TextField()
    # The language the text above is in, and the whole email with it (a code
    # of settings.LANGUAGES): the customer's, or English where the plan has
    # no text in theirs.
    language = models.CharField(max_length=10, default="en")
    due_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.SCHEDULED)
    # Handed to the outbox (outbox/) at queued_at; its sends are counted here
    # by the outbox's hooks (recovery/services/followup_delivery.py).
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    queued_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["due_at", "id"]
        indexes = [
            # The sweep's query: only the rows still to send, by due time.
            models.Index(
                fields=["due_at"],
                name="recovery_followup_due",
                condition=Q(status="scheduled"),
            ),
            models.Index(fields=["ticket", "status"], name="recovery_followup_ticket"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["scheduled", "queued", "sent", "failed", "cancelled"]),
                name="recovery_followup_status_valid",
            ),
            models.CheckConstraint(
                condition=~Q(status="sent") | Q(sent_at__isnull=False),
                name="recovery_followup_sent_has_time",
            ),
        ]

    def __str__(self) -> str:
        return (
            f"Follow-up {self.step_number} of ticket {self.ticket_id}, due {self.due_at:%Y-%m-%d}"
        )

    @property
    def message_id(self) -> str:
        """Stable across retries, so a resend is recognisable as the same mail."""
        return our_message_id(
            reference=f"{REFERENCE_PREFIX}{self.ticket_id:06d}", unique=f"followup-{self.pk}"
        )

    @property
    def is_pending(self) -> bool:
        return self.status in (self.Status.SCHEDULED, self.Status.QUEUED)


class Feedback(models.Model):
    """A customer's rating, from the signed link in a follow-up."""

    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.PROTECT, related_name="feedback")
    customer = models.ForeignKey(
        "accounts.Customer", on_delete=models.PROTECT, related_name="feedback"
    )
    followup = models.OneToOneField(
        FollowUp, on_delete=models.PROTECT, null=True, blank=True, related_name="feedback"
    )
    rating = models.PositiveSmallIntegerField()
    comment = models.TextField(blank=True)
    created_at = models.DateTimeField(default=clock.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "feedback"
        permissions = [("view_trust_dashboard", "Can see the trust dashboard")]
        constraints = [
            models.CheckConstraint(
                condition=Q(rating__gte=1, rating__lte=5), name="recovery_feedback_rating_1_to_5"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.rating}/5 on ticket {self.ticket_id}"


class FollowUpOptOut(models.Model):
    """The customer asked for no more follow-ups (one-click unsubscribe)."""

    customer = models.OneToOneField(
        "accounts.Customer", on_delete=models.CASCADE, related_name="followup_opt_out"
    )
    created_at = models.DateTimeField(default=clock.now)
    via_followup = models.ForeignKey(
        FollowUp, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    def __str__(self) -> str:
        return f"{self.customer} opted out"
