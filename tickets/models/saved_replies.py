from django.conf import settings
from django.db import models
from django.db.models import Q

from core import clock


class ReplyStep(models.TextChoices):
    """Where a saved reply is offered: a step's message, or a plain reply."""

    ACKNOWLEDGE = "acknowledge", "Acknowledge"
    APOLOGIZE = "apologize", "Apologize"
    COMMIT = "commit", "Commit"
    RESOLVE = "resolve", "Resolve"
    REPLY = "reply", "Reply"


class SavedReply(models.Model):
    """A text to start from, written by a supervisor for one step (and one
    queue, or every queue), with placeholders filled for the ticket when an
    agent inserts it, then edited before it is sent."""

    title = models.CharField(max_length=100)
    step = models.CharField(max_length=20, choices=ReplyStep.choices)
    queue = models.ForeignKey(
        "tickets.Queue",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="saved_replies",
        help_text="Empty: offered on every queue's tickets.",
    )
    body = models.TextField()
    active = models.BooleanField(default=True)
    use_count = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=clock.now)
    updated_at = clock.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["step", "title", "id"]
        verbose_name_plural = "saved replies"
        constraints = [
            models.UniqueConstraint(
                fields=["step", "queue", "title"],
                condition=Q(active=True),
                name="tickets_saved_reply_title_once",
                nulls_distinct=False,
            ),
            models.CheckConstraint(
                condition=Q(step__in=ReplyStep.values), name="tickets_saved_reply_step_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_step_display()}: {self.title}"
