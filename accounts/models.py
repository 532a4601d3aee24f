import zoneinfo

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models.functions import Lower

from accounts.roles import ROLE_PRECEDENCE, Role
from accounts.validators import validate_locale, validate_time_zone
from core import clock
from core.addresses import MailboxField


class User(AbstractUser):
    """A member of staff: agent, supervisor or admin (see ``accounts.roles``).

    Customers are not users; they never log in.
    """

    time_zone = models.CharField(
        max_length=64,
        blank=True,
        validators=[validate_time_zone],
        help_text="Times are shown in this zone; empty means the deployment's zone.",
    )

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"
        permissions = [
            ("manage_staff", "Can create staff accounts and change their roles"),
            ("view_staff_directory", "Can list staff members and their roles"),
        ]

    @property
    def role(self) -> Role | None:
        """The user's most powerful role. Reads ``groups`` through any prefetch."""
        names = {group.name for group in self.groups.all()}
        return next((role for role in ROLE_PRECEDENCE if role.value in names), None)

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone or settings.TIME_ZONE)


class Customer(models.Model):
    """Someone we serve. Identified by email, without regard to case."""

    name = models.CharField(max_length=200)
    email = MailboxField(max_length=254)
    time_zone = models.CharField(
        max_length=64,
        blank=True,
        validators=[validate_time_zone],
        help_text="Follow-ups arrive in the customer's morning in this zone; "
        "empty means the deployment's zone.",
    )
    locale = models.CharField(
        max_length=16,
        default="en",
        validators=[validate_locale],
        help_text="A language tag, such as en or pt-BR.",
    )
    created_at = clock.DateTimeField(auto_now_add=True)
    updated_at = clock.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                Lower("email"),
                name="accounts_customer_email_ci_unique",
                violation_error_message="A customer with this email address already exists.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>"

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone or settings.TIME_ZONE)


class StaffChange(models.Model):
    """Append-only record of every change to a staff account: who, when, what."""

    class Action(models.TextChoices):
        CREATED = "created", "Created"
        UPDATED = "updated", "Updated"
        TOKEN_ISSUED = "token_issued", "API token issued"

    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="staff_changes")
    # Null when the change came from the command line rather than a person here.
    actor = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    action = models.CharField(max_length=20, choices=Action.choices)
    changes = models.JSONField(default=dict, help_text="Field: [old, new].")
    created_at = clock.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_action_display()}: {self.user} at {self.created_at:%Y-%m-%d %H:%M}"
