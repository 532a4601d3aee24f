"""The trust dashboard's figures per day, kept by beat (recovery/metrics/rollup.py)
so that a range reads a row a day instead of every ticket in it.

A day is a calendar day in the desk's zone (settings.TIME_ZONE). A day with
nothing to count has no row. Medians cannot be added up, so a day keeps its
waits themselves (whole microseconds), and a range's median is taken over
all of them: exact, not an estimate from a histogram.
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q


class DailyFigures(models.Model):
    day = models.DateField(primary_key=True)
    # Tickets created that day: created to acknowledged, in microseconds,
    # sorted, as little-endian 64-bit integers (recovery.metrics.daily.Waits).
    acknowledge_waits = models.BinaryField(default=bytes)
    mishaps = models.PositiveIntegerField(default=0)
    apologized = models.PositiveIntegerField(default=0)
    repeat_failures = models.PositiveIntegerField(default=0)
    # Commitments due that day.
    promises_due = models.PositiveIntegerField(default=0)
    promises_kept = models.PositiveIntegerField(default=0)
    # Approvals decided that day: requested to decided, the same way.
    approval_waits = models.BinaryField(default=bytes)
    # Follow-ups due that day.
    followups_sent = models.PositiveIntegerField(default=0)
    followups_failed = models.PositiveIntegerField(default=0)
    followups_answered = models.PositiveIntegerField(default=0)
    # Feedback given that day, split by whether the customer ever had a mishap.
    recovered_ratings = models.PositiveIntegerField(default=0)
    recovered_rating_sum = models.PositiveIntegerField(default=0)
    never_failed_ratings = models.PositiveIntegerField(default=0)
    never_failed_rating_sum = models.PositiveIntegerField(default=0)
    happy = models.PositiveIntegerField(default=0)
    resolved = models.PositiveIntegerField(default=0)
    unhappy = models.PositiveIntegerField(default=0)
    computed_at = models.DateTimeField()

    class Meta:
        ordering = ["day"]
        verbose_name_plural = "daily figures"
        constraints = [
            models.CheckConstraint(
                condition=Q(apologized__lte=F("mishaps")),
                name="recovery_dailyfigures_apologized_of_mishaps",
            ),
            models.CheckConstraint(
                condition=Q(promises_kept__lte=F("promises_due")),
                name="recovery_dailyfigures_kept_of_due",
            ),
            models.CheckConstraint(
                condition=Q(followups_answered__lte=F("followups_sent")),
                name="recovery_dailyfigures_answered_of_sent",
            ),
            models.CheckConstraint(
                condition=Q(happy__lte=F("never_failed_ratings"))
                & Q(resolved__lte=F("recovered_ratings"))
                & Q(unhappy__lte=F("recovered_ratings") + F("never_failed_ratings")),
                name="recovery_dailyfigures_word_of_mouth_of_ratings",
            ),
            models.CheckConstraint(
                condition=Q(recovered_rating_sum__gte=F("recovered_ratings"))
                & Q(recovered_rating_sum__lte=F("recovered_ratings") * 5)
                & Q(never_failed_rating_sum__gte=F("never_failed_ratings"))
                & Q(never_failed_rating_sum__lte=F("never_failed_ratings") * 5),
                name="recovery_dailyfigures_ratings_1_to_5",
            ),
        ]

    def __str__(self) -> str:
        return f"Figures of {self.day.isoformat()}"


class DailySpend(models.Model):
    """Restitution spend entered that day, by person, kind and currency."""

    day = models.DateField()
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=20)
    currency = models.CharField(max_length=3)
    total = models.DecimalField(max_digits=14, decimal_places=2)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "user", "kind", "currency"], name="recovery_dailyspend_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.total} {self.currency} {self.kind} on {self.day.isoformat()}"


class DailyCompensation(models.Model):
    """Ratings given that day on mishaps, by compensation band (recovery/compensation.py)."""

    day = models.DateField()
    band = models.CharField(max_length=20)
    ratings = models.PositiveIntegerField()
    rating_sum = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "band"], name="recovery_dailycompensation_unique"
            ),
            models.CheckConstraint(
                condition=Q(ratings__gte=1)
                & Q(rating_sum__gte=F("ratings"))
                & Q(rating_sum__lte=F("ratings") * 5),
                name="recovery_dailycompensation_ratings_1_to_5",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.ratings} ratings in {self.band} on {self.day.isoformat()}"


class DailyFiguresState(models.Model):
    """One row: how far the rollups go. Once ``history_built``, every day is
    stored (those with nothing to count have no row) and read from here;
    until then, reads compute every day from the source tables."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    # The history is built backwards from the last day with anything on it.
    history_from = models.DateField()
    history_built = models.BooleanField(default=False)
    # The zone the days were cut in: rows of another zone are not read.
    time_zone = models.CharField(max_length=64)
    # Changes up to this time (less a margin for transactions still open
    # then) are in the stored days.
    changes_seen_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(id=1), name="recovery_dailyfiguresstate_one_row"),
        ]

    def __str__(self) -> str:
        return f"Daily figures from {self.history_from}"
