from django.conf import settings
from django.db import models

from core import clock


class SavedView(models.Model):
    """A queue view one person named and kept: the queue's own query string
    (its view, filters, search and order), known parameters only."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_views"
    )
    name = models.CharField(max_length=60)
    query = models.CharField(max_length=500)
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "name"], name="console_saved_view_name_once"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.user_id}): ?{self.query}"
