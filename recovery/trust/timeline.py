"""The customer's trust events, in time: mishaps, promises kept or late,
restitutions, ratings and an unsubscribe, for the customer page's chart."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from recovery.models import Feedback, FollowUpOptOut, Restitution
from recovery.trust.rules import duration_words
from tickets.models import Commitment, Kind, Ticket

MISHAP, REPEAT = "mishap", "repeat"
KEPT, LATE, OVERDUE = "kept", "late", "overdue"
RESTITUTION, RATING, UNSUBSCRIBED = "restitution", "rating", "unsubscribed"
LANES = {
    MISHAP: "Mishaps",
    REPEAT: "Mishaps",
    KEPT: "Promises",
    LATE: "Promises",
    OVERDUE: "Promises",
    RESTITUTION: "Restitutions",
    RATING: "Ratings",
    UNSUBSCRIBED: "Follow-ups",
}


@dataclass(frozen=True)
class TrustEvent:
    at: datetime
    kind: str
    text: str
    ticket_id: int | None = None
    reference: str = ""
    rating: int | None = None

    @property
    def lane(self) -> str:
        return LANES[self.kind]


def _promise(commitment: Commitment, reference: str, now: datetime) -> TrustEvent | None:
    if commitment.fulfilled_at is not None:
        kept = commitment.fulfilled_at <= commitment.due_at
        late = (commitment.fulfilled_at - commitment.due_at).total_seconds() / 3600
        said = "Promise kept" if kept else f"Promise kept {duration_words(late)} late"
        return TrustEvent(
            at=commitment.fulfilled_at,
            kind=KEPT if kept else LATE,
            text=f"{said}: {commitment.promise[:80]}",
            ticket_id=commitment.ticket_id,
            reference=reference,
        )
    if commitment.due_at < now:
        return TrustEvent(
            at=commitment.due_at,
            kind=OVERDUE,
            text=f"Promise not kept by its time: {commitment.promise[:80]}",
            ticket_id=commitment.ticket_id,
            reference=reference,
        )
    return None


def trust_events(
    *,
    tickets: Iterable[Ticket],
    commitments: Iterable[Commitment],
    restitutions: Iterable[Restitution],
    ratings: Iterable[Feedback],
    opt_out: FollowUpOptOut | None,
    now: datetime,
) -> list[TrustEvent]:
    """The events, oldest first, from rows the page has read already."""
    references = {t.pk: t.reference for t in tickets}
    events = [
        TrustEvent(
            at=t.created_at,
            kind=REPEAT if t.is_repeat_failure else MISHAP,
            text=("Repeat failure: " if t.is_repeat_failure else "Mishap: ") + t.subject[:80],
            ticket_id=t.pk,
            reference=t.reference,
        )
        for t in tickets
        if t.kind == Kind.MISHAP
    ]
    for commitment in commitments:
        event = _promise(commitment, references.get(commitment.ticket_id, ""), now)
        if event is not None:
            events.append(event)
    events += [
        TrustEvent(
            at=r.created_at,
            kind=RESTITUTION,
            text=f"{r.get_kind_display()} {r.amount} {r.currency}"
            + (
                f" ({round(r.amount / r.customer_loss * 100)}% of the loss)"
                if r.customer_loss
                else ""
            ),
            ticket_id=r.ticket_id,
            reference=references.get(r.ticket_id, ""),
        )
        for r in restitutions
        if r.is_in_force
    ]
    events += [
        TrustEvent(
            at=f.created_at,
            kind=RATING,
            text=f"Rated {f.rating} of 5" + (f": “{f.comment[:80]}”" if f.comment else ""),
            ticket_id=f.ticket_id,
            reference=references.get(f.ticket_id, ""),
            rating=f.rating,
        )
        for f in ratings
    ]
    if opt_out is not None:
        events.append(
            TrustEvent(at=opt_out.created_at, kind=UNSUBSCRIBED, text="Stopped our follow-ups")
        )
    return sorted(events, key=lambda e: (e.at, e.kind))
