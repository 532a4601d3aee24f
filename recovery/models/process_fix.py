from django.conf import settings
from django.db import models

from core import clock


class ProcessFix(models.Model):
    """The "process making moment": the failsafe change that keeps a mishap
    from happening again, with the tickets that revealed the need for it."""

    class Status(models.TextChoices):
        PROPOSED = "proposed", "Proposed"
        IN_PROGRESS = "in_progress", "In progress"
        DONE = "done", "Done"
        DROPPED = "dropped", "Dropped"

    title = models.CharField(max_length=200)
    root_cause = models.TextField()
    failsafe_change = models.TextField(help_text="What changes so that it cannot happen again.")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="process_fixes"
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PROPOSED)
    tickets = models.ManyToManyField("tickets.Ticket", related_name="process_fixes", blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=clock.now)
    updated_at = clock.DateTimeField(auto_now=True)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "process fixes"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=["proposed", "in_progress", "done", "dropped"]),
                name="recovery_processfix_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.title
