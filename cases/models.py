from django.db import models
from django.db.models import Q

from core import clock


class CaseEmail(models.Model):
    """An email about the case page that is not part of the conversation: the
    contact form's confirmation, a fresh link for an expired one, and the
    links to an address's cases. Sent through the outbox (cases.delivery)."""

    class Kind(models.TextChoices):
        CONFIRMATION = "confirmation", "Contact form confirmation"
        FRESH_LINK = "fresh_link", "A fresh link to a case"
        LINKS = "links", "Links to an address's cases"

    class Delivery(models.TextChoices):
        PENDING = "pending", "Waiting to be sent"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    customer = models.ForeignKey("accounts.Customer", on_delete=models.PROTECT, related_name="+")
    # None for the links to all of an address's cases.
    ticket = models.ForeignKey(
        "tickets.Ticket", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    message_id = models.CharField(max_length=255, unique=True)
    created_at = models.DateTimeField(default=clock.now)
    delivery_status = models.CharField(
        max_length=10, choices=Delivery.choices, default=Delivery.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=["confirmation", "fresh_link", "links"]),
                name="cases_caseemail_kind_valid",
            ),
            models.CheckConstraint(
                condition=Q(kind="links") | Q(ticket__isnull=False),
                name="cases_caseemail_ticket_unless_links",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} to customer {self.customer_id}"


class CaseVisit(models.Model):
    """When the customer opened their case page: staff see the last time on
    the ticket. One row per ticket, updated in place."""

    ticket = models.OneToOneField(
        "tickets.Ticket", on_delete=models.CASCADE, related_name="case_visit"
    )
    first_opened_at = models.DateTimeField(default=clock.now)
    last_opened_at = models.DateTimeField(default=clock.now)
    times = models.PositiveIntegerField(default=1)

    def __str__(self) -> str:
        return f"Case page of ticket {self.ticket_id}"
