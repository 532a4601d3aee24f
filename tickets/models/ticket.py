import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from core import clock
from tickets.models.conditions import (
    has_open_commitment,
    is_mishap,
    is_question,
    nothing_blocks_resolution,
    our_part_stated,
)

# The permission of those who see and work every ticket (``Ticket.Meta``),
# read by the access rule and by the selectors alike.
VIEW_ALL = "tickets.view_all_tickets"

REFERENCE_PREFIX = "HD-"
_REFERENCE = re.compile(rf"\b{REFERENCE_PREFIX}(\d{{1,12}})\b", re.IGNORECASE)


class Kind(models.TextChoices):
    QUESTION = "question", "Question"
    MISHAP = "mishap", "Mishap"


class Severity(models.TextChoices):
    MINOR = "minor", "Minor"
    MAJOR = "major", "Major"
    CRITICAL = "critical", "Critical"


class Channel(models.TextChoices):
    EMAIL = "email", "Email"
    PHONE = "phone", "Phone"
    CHAT = "chat", "Chat"
    SOCIAL = "social", "Social"
    WEB = "web", "Web"
    SMS = "sms", "SMS"


class Status(models.TextChoices):
    NEW = "new", "New"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    APOLOGIZED = "apologized", "Apologized"
    COMMITTED = "committed", "Committed"
    RESOLVED = "resolved", "Resolved"
    REBUILDING = "rebuilding", "Rebuilding"
    RESTORED = "restored", "Restored"
    CLOSED = "closed", "Closed"


# Work still to do on these; the others are answered, recovering or done.
OPEN_STATUSES = (Status.NEW, Status.ACKNOWLEDGED, Status.APOLOGIZED, Status.COMMITTED)


class UnrecordedTransition(RuntimeError):
    pass


def ticket_id_from_reference(text: str) -> int | None:
    """The ticket id in a reference such as ``HD-000123`` found in ``text``."""
    match = _REFERENCE.search(text)
    return int(match.group(1)) if match else None


_NUMBER_ALONE = re.compile(r"#?(\d{1,12})")


def ticket_id_from_search(text: str) -> int | None:
    """The ticket a search names: a reference (HD-000123), or a number alone
    (123, #123), as agents say and type a ticket's number."""
    found = ticket_id_from_reference(text)
    if found is not None:
        return found
    match = _NUMBER_ALONE.fullmatch(text.strip())
    return int(match.group(1)) if match else None


class Ticket(ConcurrentTransitionMixin, models.Model):
    """A customer's question, or a mishap on our side to recover from.

    The status moves only through the transition methods below, whose
    decorators are the whole rulebook (SPEC, "Ticket lifecycle"). Services in
    ``tickets.services.lifecycle`` call them under a row lock and record each
    move; nothing else writes ``status``.
    """

    subject = models.CharField(max_length=300)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.QUESTION)
    severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.MINOR)
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.EMAIL)
    status = FSMField(max_length=20, choices=Status.choices, default=Status.NEW, protected=True)

    customer = models.ForeignKey(
        "accounts.Customer", on_delete=models.PROTECT, related_name="tickets"
    )
    queue = models.ForeignKey(
        "tickets.Queue", on_delete=models.PROTECT, null=True, blank=True, related_name="tickets"
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_tickets",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    our_part = models.TextField(blank=True, help_text="For a mishap: what we did wrong.")

    created_at = models.DateTimeField(default=clock.now)
    updated_at = clock.DateTimeField(auto_now=True)
    # When the timeliness targets started counting: arrival, or the last reopen.
    clock_started_at = models.DateTimeField(default=clock.now)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    apologized_at = models.DateTimeField(null=True, blank=True)
    committed_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    restored_at = models.DateTimeField(null=True, blank=True)
    reopened_at = models.DateTimeField(null=True, blank=True)
    rebuilding_ended_at = models.DateTimeField(null=True, blank=True)
    acknowledge_breached_at = models.DateTimeField(null=True, blank=True)
    apologize_breached_at = models.DateTimeField(null=True, blank=True)

    is_repeat_failure = models.BooleanField(
        default=False,
        help_text="A mishap for a customer still recovering from another (or within 90 days).",
    )
    repeat_of = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [
            ("view_all_tickets", "Can see and work every ticket, whatever its queue"),
        ]
        indexes = [
            # One per filter and sort of the queue (API list and console), each
            # ending in the list's order so a page is read off the index in
            # order, never sorted: newest first, by status, by queue and status,
            # by assignee. See docs/performance.md for the plans at 200k tickets.
            models.Index(fields=["-created_at", "-id"], name="tickets_created"),
            models.Index(fields=["status", "-created_at", "-id"], name="tickets_status_created"),
            models.Index(
                fields=["queue", "status", "-created_at", "-id"], name="tickets_queue_status"
            ),
            models.Index(
                fields=["assignee", "status", "-created_at", "-id"], name="tickets_assignee_status"
            ),
            models.Index(fields=["customer", "-created_at"], name="tickets_customer_created"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=Kind.values), name="tickets_ticket_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(severity__in=Severity.values), name="tickets_ticket_severity_valid"
            ),
            models.CheckConstraint(
                condition=Q(status__in=Status.values), name="tickets_ticket_status_valid"
            ),
            # An apology and a commitment are for mishaps only, whatever path wrote the row.
            models.CheckConstraint(
                condition=Q(kind=Kind.MISHAP)
                | ~Q(status__in=[Status.APOLOGIZED, Status.COMMITTED, Status.REBUILDING]),
                name="tickets_ticket_recovery_states_mishap_only",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.subject}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Refuse a status that did not come through a lifecycle service, so a
        transition called in a shell cannot be saved without its step, its
        event and its message."""
        if self._state.adding and self.status != Status.NEW:
            raise UnrecordedTransition(
                "A ticket starts as new; use tickets.services.ticket_create."
            )
        saved = getattr(self, "_saved_status", None)
        changed = saved is not None and self.status != saved
        if changed and not getattr(self, "_recording_transition", False):
            raise UnrecordedTransition(
                f"The move from {saved} to {self.status} must go through the lifecycle "
                "services (tickets.services), which record it."
            )
        super().save(*args, **kwargs)
        self._saved_status = self.status

    @classmethod
    def from_db(cls, *args: Any, **kwargs: Any) -> "Ticket":
        ticket = super().from_db(*args, **kwargs)
        ticket._saved_status = ticket.__dict__.get("status")
        return ticket

    def refresh_from_db(self, *args: Any, **kwargs: Any) -> None:
        super().refresh_from_db(*args, **kwargs)
        self._saved_status = self.__dict__.get("status")

    @contextmanager
    def recording_transition(self) -> Iterator[None]:
        """Used by ``tickets.services.lifecycle`` alone, around the save that
        records a transition together with its event."""
        self._recording_transition = True
        try:
            yield
        finally:
            self._recording_transition = False

    @property
    def reference(self) -> str:
        return f"{REFERENCE_PREFIX}{self.pk:06d}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    # --- The rulebook: sources, targets and conditions only. ---------------------

    @transition(field=status, source=Status.NEW, target=Status.ACKNOWLEDGED)
    def acknowledge(self) -> None:
        """Tell the customer we have it (and, for a mishap, our part in it)."""

    @transition(
        field=status,
        source=Status.ACKNOWLEDGED,
        target=Status.APOLOGIZED,
        conditions=[is_mishap, our_part_stated],
    )
    def apologize(self) -> None:
        """Say sorry, sincerely. Mishaps only."""

    @transition(
        field=status, source=Status.APOLOGIZED, target=Status.COMMITTED, conditions=[is_mishap]
    )
    def commit(self) -> None:
        """Promise what we will do, and by when."""

    @transition(
        field=status, source=Status.ACKNOWLEDGED, target=Status.RESOLVED, conditions=[is_question]
    )
    @transition(
        field=status,
        source=Status.COMMITTED,
        target=Status.REBUILDING,
        conditions=[is_mishap, has_open_commitment, nothing_blocks_resolution],
    )
    def resolve(self) -> None:
        """Answer a question; for a mishap, keep the promise and start rebuilding trust."""

    @transition(field=status, source=Status.RESOLVED, target=Status.CLOSED)
    def close(self) -> None:
        """File an answered question away."""

    @transition(field=status, source=Status.REBUILDING, target=Status.RESTORED)
    def restore(self) -> None:
        """End the rebuilding period: the follow-ups are done, or ended with a reason."""

    @transition(
        field=status,
        source=[Status.RESOLVED, Status.REBUILDING, Status.CLOSED],
        target=Status.ACKNOWLEDGED,
    )
    def reopen(self) -> None:
        """Back to work: a mishap must apologize and commit again."""
