from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q

from core import clock
from recovery.models.authority import RestitutionKind, _money


class Restitution(models.Model):
    """A refund, credit or token granted on a ticket. Within the granter's
    authority it is granted at once; above it, it waits for a supervisor."""

    class Status(models.TextChoices):
        GRANTED = "granted", "Granted"
        PENDING_APPROVAL = "pending_approval", "Awaiting approval"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        VOIDED = "voided", "Voided"

    ticket = models.ForeignKey(
        "tickets.Ticket", on_delete=models.PROTECT, related_name="restitutions"
    )
    customer = models.ForeignKey(
        "accounts.Customer", on_delete=models.PROTECT, related_name="restitutions"
    )
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="restitutions"
    )
    kind = models.CharField(max_length=20, choices=RestitutionKind.choices)
    amount = _money()
    currency = models.CharField(max_length=3)
    reason = models.TextField()
    customer_loss = _money(null=True, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices)
    # Whose authority paid for it: the agent, or the approving supervisor.
    charged_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # The counters it was added to, so a void takes it back from the same ones.
    counter_ids = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=clock.now)
    voided_at = models.DateTimeField(null=True, blank=True)
    voided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    void_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["ticket", "status"], name="recovery_restitution_ticket")]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gt=0), name="recovery_restitution_amount_positive"
            ),
            models.CheckConstraint(
                condition=Q(customer_loss__isnull=True) | Q(customer_loss__gte=0),
                name="recovery_restitution_loss_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(kind__in=RestitutionKind.values), name="recovery_restitution_kind_valid"
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["granted", "approved"]) | Q(charged_to__isnull=False),
                name="recovery_restitution_paid_has_payer",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount} {self.currency} on ticket {self.ticket_id}"

    @property
    def is_in_force(self) -> bool:
        return self.status in (self.Status.GRANTED, self.Status.APPROVED)


class ApprovalRequest(models.Model):
    """A restitution above the agent's authority, waiting for a supervisor."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"

    restitution = models.OneToOneField(
        Restitution, on_delete=models.PROTECT, related_name="approval"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    limits_exceeded = models.JSONField(default=list, help_text="Which of the agent's limits.")
    created_at = models.DateTimeField(default=clock.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        permissions = [("decide_approvalrequest", "Can approve or reject restitutions")]
        indexes = [models.Index(fields=["status", "created_at"], name="recovery_approval_status")]
        constraints = [
            models.CheckConstraint(
                condition=Q(status="pending")
                | Q(decided_by__isnull=False, decided_at__isnull=False),
                name="recovery_approval_decided_has_decider",
            ),
            models.CheckConstraint(
                condition=~Q(status="rejected") | ~Q(reason=""),
                name="recovery_approval_rejection_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"Approval of restitution {self.restitution_id}: {self.status}"


class SpendEntry(models.Model):
    """The spend ledger, append-only: a grant adds a line, a void a negative one."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    restitution = models.ForeignKey(Restitution, on_delete=models.PROTECT, related_name="ledger")
    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey("accounts.Customer", on_delete=models.PROTECT, related_name="+")
    amount = _money(help_text="Positive for a grant, negative for its void.")
    currency = models.CharField(max_length=3)
    created_at = models.DateTimeField(default=clock.now, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name_plural = "spend entries"
        constraints = [
            models.CheckConstraint(condition=~Q(amount=0), name="recovery_spend_not_zero"),
        ]

    def __str__(self) -> str:
        return f"{self.amount} {self.currency} by {self.user_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise RuntimeError("The spend ledger is append-only.")
        super().save(*args, **kwargs)
