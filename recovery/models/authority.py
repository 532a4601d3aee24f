from datetime import date
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core import clock
from core.money import DECIMAL_PLACES, MAX_DIGITS

WHOLE_LIFE = date(1970, 1, 1)


class RestitutionKind(models.TextChoices):
    # Translated: a follow-up names the kind to the customer, in their language.
    REFUND = "refund", _("Refund")
    CREDIT = "credit", _("Credit")
    GIFT = "gift", _("Gift")
    DISCOUNT = "discount", _("Discount")
    REPLACEMENT = "replacement", _("Replacement")
    FEE_WAIVER = "fee_waiver", _("Fee waiver")
    OTHER = "other", _("Other")


class Period(models.TextChoices):
    DAY = "day", "Day"
    WEEK = "week", "Week"
    MONTH = "month", "Month"


class Limit(models.TextChoices):
    """The limits of an authority policy: by the names the API and approval
    requests use (``ApprovalRequest.limits_exceeded``, the policy's fields),
    and in the words people read in the console and in staff emails."""

    PER_INCIDENT = "per_incident_limit", "limit per incident"
    PER_PERIOD = "per_period_limit", "limit per period"
    PER_CUSTOMER = "per_customer_limit", "limit per customer"

    def label_for(self, period: str | None = None) -> str:
        """The words for this limit, its period named where it has one:
        "limit per week", "limit per customer per week"."""
        if period is None or self is Limit.PER_INCIDENT:
            return str(self.label)
        every = Period(period).label.lower()
        if self is Limit.PER_PERIOD:
            return f"limit per {every}"
        return f"{self.label} per {every}"


def limit_label(name: str, period: str | None = None) -> str:
    """A limit's machine name in words; an unknown name as it is."""
    if name not in Limit.values:
        return name
    return Limit(name).label_for(period)


def _money(**kwargs: object) -> models.DecimalField:
    return models.DecimalField(max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES, **kwargs)  # type: ignore[arg-type]


class AuthorityPolicy(models.Model):
    """How much a staff member may grant on their own. Without a row, the
    defaults of their role apply (``HELPDESK_AUTHORITY_DEFAULTS``)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="authority_policy"
    )
    per_incident_limit = _money(help_text="The most granted in all on one ticket.")
    per_period_limit = _money(help_text="The most this person grants in one period.")
    period = models.CharField(max_length=10, choices=Period.choices, default=Period.WEEK)
    per_customer_limit = _money(help_text="The most granted to one customer in one period.")
    allowed_kinds = models.JSONField(default=list)
    currency = models.CharField(max_length=3)
    updated_at = clock.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "authority policies"
        constraints = [
            models.CheckConstraint(
                condition=Q(per_incident_limit__gte=0)
                & Q(per_period_limit__gte=0)
                & Q(per_customer_limit__gte=0),
                name="recovery_policy_limits_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(period__in=Period.values), name="recovery_policy_period_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"Authority of {self.user}"


class AuthorityPolicyChange(models.Model):
    """Append-only: who changed whose limits, when, from what to what."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="authority_changes"
    )
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    changed_at = clock.DateTimeField(auto_now_add=True)
    old = models.JSONField(help_text="The policy before (the role's defaults if none was set).")
    new = models.JSONField()

    class Meta:
        ordering = ["-changed_at", "-id"]

    def __str__(self) -> str:
        return f"{self.user}'s authority changed by {self.changed_by}"


class SpendCounter(models.Model):
    """What has been granted in one scope, kept by the database.

    A grant adds its amount to five counters (the ticket; the customer for
    the day, the week and the month; the granter in their period) by one
    statement that locks them in one order and adds only where every limit
    holds (``recovery.services.restitution_charges``): the row locks
    serialize concurrent grants, and the condition (``spent + amount <=
    limit``) is what enforces the limit. Voiding takes the amount back. The
    check constraint is the last line of defence.
    """

    class Scope(models.TextChoices):
        TICKET = "ticket", "One ticket"
        CUSTOMER = "customer", "One customer in a period"
        GRANTER = "granter", "One granter in a period"

    scope = models.CharField(max_length=10, choices=Scope.choices)
    # The ticket, customer or user id; with the period's first day where it
    # applies (a ticket's counter has no period: WHOLE_LIFE).
    subject_id = models.BigIntegerField()
    period = models.CharField(max_length=10, blank=True)
    period_start = models.DateField(default=WHOLE_LIFE)
    currency = models.CharField(max_length=3)
    spent = _money(default=Decimal("0.00"))

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["scope", "subject_id", "period", "period_start", "currency"],
                name="recovery_one_counter_per_scope",
            ),
            models.CheckConstraint(
                condition=Q(spent__gte=0), name="recovery_counter_never_negative"
            ),
        ]

    def __str__(self) -> str:
        return (
            f"{self.scope} {self.subject_id} from {self.period_start}: {self.spent} {self.currency}"
        )
