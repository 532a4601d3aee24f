"""What the customer's case page shows, read in a fixed number of queries
(eight, whatever the conversation's length), and only what the customer may
see: public messages and their files, never internal notes, never our own
account of the mishap (``our_part``) or anything staff-only."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Prefetch

from cases.models import CaseVisit
from core import clock
from recovery.models import Feedback, FollowUp, FollowUpOptOut, ProcessFix, Restitution
from tickets.models import Attachment, Commitment, Message, Ticket

IN_FORCE = (Restitution.Status.GRANTED, Restitution.Status.APPROVED)
PENDING = (FollowUp.Status.SCHEDULED, FollowUp.Status.QUEUED)


@dataclass(frozen=True)
class Case:
    ticket: Ticket
    messages: list[Message]  # public, oldest first, with their attachments
    commitments: list[Commitment]  # newest first
    granted: list[Restitution]
    next_followup: FollowUp | None
    # The follow-up whose rating the page asks for: the last one sent.
    rated_followup: FollowUp | None
    feedback: Feedback | None
    fixes_done: list[ProcessFix]
    opted_out: bool
    has_followups: bool

    @property
    def acknowledgement(self) -> Message | None:
        """Our latest acknowledgement, as the customer received it."""
        acknowledged = [m for m in self.messages if m.step == "acknowledge"]
        return acknowledged[-1] if acknowledged else None

    @property
    def promise(self) -> Commitment | None:
        return self.commitments[0] if self.commitments else None


def case_for(ticket: Ticket) -> Case:
    """``ticket`` as read by ``cases.links.case_from_link`` (with its customer)."""
    messages = list(
        Message.objects.filter(ticket=ticket, public=True)
        .select_related("author")
        .prefetch_related(Prefetch("attachments", queryset=Attachment.objects.order_by("id")))
        .order_by("created_at", "id")
    )
    followups = list(FollowUp.objects.filter(ticket=ticket).order_by("due_at", "id"))
    upcoming = [f for f in followups if f.status in PENDING]
    sent = [f for f in followups if f.status == FollowUp.Status.SENT]
    rated = max(sent, key=lambda f: (f.sent_at or f.due_at, f.pk)) if sent else None
    return Case(
        ticket=ticket,
        messages=messages,
        commitments=list(Commitment.objects.filter(ticket=ticket).order_by("-created_at", "-id")),
        granted=list(
            Restitution.objects.filter(ticket=ticket, status__in=IN_FORCE).order_by(
                "created_at", "id"
            )
        ),
        next_followup=upcoming[0] if upcoming else None,
        rated_followup=rated,
        feedback=Feedback.objects.filter(followup=rated).first() if rated else None,
        fixes_done=list(
            ProcessFix.objects.filter(tickets=ticket, status=ProcessFix.Status.DONE)
            .exclude(done_at=None)
            .order_by("done_at", "id")
        ),
        opted_out=FollowUpOptOut.objects.filter(customer_id=ticket.customer_id).exists(),
        has_followups=bool(followups),
    )


def promise_state(commitment: Commitment, now: datetime | None = None) -> str:
    """ "kept", "late" (kept after its due time), "due" (not yet due) or
    "missed" (due, and not kept yet)."""
    if commitment.fulfilled_at is not None:
        return "kept" if commitment.kept else "late"
    return "missed" if (now or clock.now()) >= commitment.due_at else "due"


def case_visit_of(ticket: Ticket) -> CaseVisit | None:
    """When the customer last opened their page; None if never. Read with
    ``select_related("case_visit")`` to spare the query."""
    try:
        return ticket.case_visit
    except CaseVisit.DoesNotExist:
        return None
