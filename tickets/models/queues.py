from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q

from core import clock


class Queue(models.Model):
    """A team's share of the work. Agents see the tickets of the queues they
    belong to, plus those assigned to them."""

    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=50, unique=True)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="queues", blank=True)
    restrict_to_assignee = models.BooleanField(
        default=False,
        help_text="Members see every ticket of the queue, but only the assignee (or a "
        "supervisor) may act on one.",
    )
    created_at = clock.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class SeverityTarget(models.Model):
    """How soon a ticket of a severity must be acknowledged and, for a mishap,
    apologized for, counted from when it arrived (or was reopened). A late
    apology is worth less (Roschk and Kaiser 2013). Admins edit these rows."""

    severity = models.CharField(max_length=10, unique=True)
    acknowledge_within = models.DurationField()
    apologize_within = models.DurationField()

    class Meta:
        ordering = ["acknowledge_within"]
        constraints = [
            models.CheckConstraint(
                condition=Q(acknowledge_within__gt=timedelta(0)),
                name="tickets_target_acknowledge_positive",
            ),
            models.CheckConstraint(
                condition=Q(apologize_within__gte=models.F("acknowledge_within")),
                name="tickets_target_apology_not_before_acknowledgement",
                violation_error_message="The apology target cannot come before the "
                "acknowledgement target.",
            ),
        ]

    def __str__(self) -> str:
        return (
            f"{self.severity}: acknowledge within {self.acknowledge_within}, "
            f"apologize within {self.apologize_within}"
        )
