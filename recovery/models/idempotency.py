from django.conf import settings
from django.db import models

from core import clock


class IdempotencyKey(models.Model):
    """The first response to a request sent with an ``Idempotency-Key``: a
    retry with the same key and body gets it again, and nothing is granted twice.

    The unique constraint is what makes parallel retries safe: the second
    insert waits for the first transaction (unless the action's own locks,
    a grant's ticket, made it wait already) and then fails, and the retry
    finds the first answer.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of method, path and body.")
    response_status = models.PositiveSmallIntegerField()
    response_body = models.JSONField()
    created_at = models.DateTimeField(default=clock.now, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="recovery_idempotency_key_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.user_id})"
