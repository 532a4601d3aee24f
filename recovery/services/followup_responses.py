"""What customers do with a follow-up's links: rate it (and change their
mind on the thank-you page), unsubscribe from follow-ups, and undo that."""

from typing import Any

from django.db import transaction

from accounts.models import Customer
from core import clock
from core.errors import RuleViolation
from recovery.models import Feedback, FollowUp, FollowUpOptOut
from recovery.selectors.followup_links import RATINGS
from recovery.services.followups import LOW_RATING, cancel_pending
from tickets.models import Alert, Status, Ticket
from tickets.services.alerts import alert_raise
from tickets.services.events import record_event
from tickets.services.messages import clean_text

FEEDBACK_COMMENT_LIMIT = 5_000
# The cancel_reason of what an unsubscribe cancelled: how an undo finds them.
UNSUBSCRIBED = "The customer unsubscribed."


class AlreadyRated(Exception):
    def __init__(self, feedback: Feedback) -> None:
        super().__init__(f"Follow-up {feedback.followup_id} is rated already.")
        self.feedback = feedback  # what is recorded


def _clean_feedback(rating: int, comment: str) -> str:
    if rating not in RATINGS:
        raise RuleViolation("Choose a rating from 1 to 5.", field="rating")
    return clean_text(comment, field="comment", required=False, limit=FEEDBACK_COMMENT_LIMIT)


@transaction.atomic
def feedback_record(
    *, followup: FollowUp, rating: int, comment: str = "", one_click: bool = False
) -> Feedback:
    """Store the customer's rating, once per follow-up. A rating of 1 or 2
    alerts the assignee and the supervisors. ``one_click``: recorded by
    following a rating's link, which a mail scanner may do before the
    customer does (the event says so; ``feedback_revise`` lets the customer
    put it right)."""
    comment = _clean_feedback(rating, comment)
    locked = (
        FollowUp.objects.select_for_update().select_related("ticket__customer").get(pk=followup.pk)
    )
    recorded = Feedback.objects.filter(followup=locked).first()
    if recorded is not None:
        raise AlreadyRated(recorded)
    feedback = Feedback.objects.create(
        ticket=locked.ticket,
        customer=locked.customer,
        followup=locked,
        rating=rating,
        comment=comment,
    )
    payload: dict[str, Any] = {"rating": rating, "comment": comment, "followup": locked.pk}
    if one_click:
        payload["one_click"] = True
    record_event(ticket=locked.ticket, actor=None, action="feedback_received", payload=payload)
    if rating <= LOW_RATING:
        alert_raise(
            ticket=locked.ticket,
            kind=Alert.Kind.LOW_RATING,
            detail=(
                f"{locked.customer.name} rated us {rating} out of 5 after follow-up "
                f"{locked.step_number}"
                + (f": “{comment}”" if comment else ".")
                + " Trust is not back yet: please get in touch."
            ),
        )
    return feedback


@transaction.atomic
def feedback_revise(*, followup: FollowUp, rating: int, comment: str) -> Feedback:
    """The customer's explicit choice on the thank-you page wins over what was
    recorded, which a mail scanner following a rating link may have chosen:
    the rating and the comment become what they sent, each change an event.
    The people a low rating alerts are told of a rating that became low, of
    words added to a low rating, and of a low rating taken back (so nobody
    chases a complaint the customer did not make); a comment on a good rating
    is an event only, as with ``feedback_record``. With nothing recorded yet,
    this records."""
    comment = _clean_feedback(rating, comment)
    locked = (
        FollowUp.objects.select_for_update().select_related("ticket__customer").get(pk=followup.pk)
    )
    feedback = Feedback.objects.select_for_update().filter(followup=locked).first()
    if feedback is None:
        return feedback_record(followup=locked, rating=rating, comment=comment)
    before, said_before = feedback.rating, feedback.comment
    if (rating, comment) == (before, said_before):
        return feedback
    feedback.rating, feedback.comment = rating, comment
    feedback.save(update_fields=["rating", "comment"])
    ticket = locked.ticket
    if rating != before:
        record_event(
            ticket=ticket,
            actor=None,
            action="feedback_rating_changed",
            payload={"followup": locked.pk, "from": before, "to": rating},
        )
    if comment != said_before:
        record_event(
            ticket=ticket,
            actor=None,
            action="feedback_commented",
            payload={"followup": locked.pk, "rating": rating, "comment": comment},
        )
    news = _low_rating_news(
        locked, before=before, rating=rating, comment=comment, new_words=comment != said_before
    )
    if news:
        # Taking a low rating back is good news, not another low rating: its
        # own kind, so nobody reads "Low rating" in the subject and calls.
        kind = Alert.Kind.RATING_RAISED if rating > LOW_RATING else Alert.Kind.LOW_RATING
        alert_raise(ticket=ticket, kind=kind, detail=news)
    return feedback


def _low_rating_news(
    followup: FollowUp, *, before: int, rating: int, comment: str, new_words: bool
) -> str:
    """What the people alerted to low ratings hear of a revision, if anything."""
    who, step = followup.customer.name, followup.step_number
    quoted = f"“{comment}”"
    if rating <= LOW_RATING < before:
        return (
            f"{who} changed their rating from {before} to {rating} out of 5 after follow-up "
            f"{step}"
            + (f": {quoted}" if comment else ".")
            + " Trust is not back yet: please get in touch."
        )
    if rating <= LOW_RATING and new_words and comment:
        return (
            f"{who}, who rated us {rating} out of 5 after follow-up {step}, wrote: {quoted}"
            " Trust is not back yet: please get in touch."
        )
    if before <= LOW_RATING < rating:
        return (
            f"{who} changed their rating from {before} to {rating} out of 5 after follow-up "
            f"{step}: the low rating no longer stands."
            + (f" They wrote: {quoted}" if new_words and comment else "")
        )
    return ""


@transaction.atomic
def customer_unsubscribe(*, followup: FollowUp) -> int:
    """One click: no more follow-ups for this customer; returns how many were cancelled."""
    pending = [FollowUp.Status.SCHEDULED, FollowUp.Status.QUEUED]
    ticket_ids = set(
        FollowUp.objects.filter(customer_id=followup.customer_id, status__in=pending).values_list(
            "ticket_id", flat=True
        )
    )
    # Tickets, then the customer: the order a resolution takes (it locks its
    # ticket, then the customer to check for an opt-out), so the two never deadlock.
    tickets = list(
        Ticket.objects.select_for_update(of=("self",)).filter(pk__in=ticket_ids).order_by("pk")
    )
    customer = Customer.objects.select_for_update().get(pk=followup.customer_id)
    _, opted_out = FollowUpOptOut.objects.get_or_create(
        customer=customer, defaults={"via_followup": followup}
    )
    # A resolution that committed while we waited for the customer's lock
    # scheduled follow-ups we had not seen: theirs go too. Holding that lock,
    # no resolution can schedule more before the opt-out is committed.
    late = set(
        FollowUp.objects.filter(customer_id=customer.pk, status__in=pending)
        .exclude(ticket_id__in=ticket_ids)
        .values_list("ticket_id", flat=True)
    )
    tickets += list(Ticket.objects.filter(pk__in=late).order_by("pk"))
    cancelled = 0
    told = set()
    for ticket in tickets:
        count = cancel_pending(FollowUp.objects.filter(ticket=ticket), UNSUBSCRIBED)
        if count:
            record_event(
                ticket=ticket,
                actor=None,
                action="customer_unsubscribed",
                payload={"cancelled": count},
            )
            told.add(ticket.pk)
        cancelled += count
    if opted_out and followup.ticket_id not in told:
        # The opt-out itself is a change worth its audit row, even with nothing pending.
        record_event(
            ticket=followup.ticket,
            actor=None,
            action="customer_unsubscribed",
            payload={"cancelled": 0},
        )
    return cancelled


# The statuses in which a ticket's follow-ups still go out: resolution
# schedules them, reopening and restoring cancel them (closing an answered
# question does not).
FOLLOWING_UP = (Status.RESOLVED, Status.REBUILDING, Status.CLOSED)


@transaction.atomic
def customer_resubscribe(*, followup: FollowUp) -> int:
    """Undo an unsubscribe: the opt-out goes, and the follow-ups it cancelled
    are scheduled again at their own times where that is still to come and
    their ticket is still in the resolution they belong to. One whose moment
    has passed stays cancelled: sent now it would be days out of step with
    what it says ("a week ago..."), and several could arrive at once. Returns
    how many are scheduled again; without an opt-out there is nothing to undo."""
    now = clock.now()
    ticket_ids = set(
        FollowUp.objects.filter(
            customer_id=followup.customer_id,
            status=FollowUp.Status.CANCELLED,
            cancel_reason=UNSUBSCRIBED,
            ticket__status__in=FOLLOWING_UP,
        ).values_list("ticket_id", flat=True)
    )
    # Tickets, then the customer: the order customer_unsubscribe and a resolution take.
    tickets = list(
        Ticket.objects.select_for_update(of=("self",)).filter(pk__in=ticket_ids).order_by("pk")
    )
    customer = Customer.objects.select_for_update().get(pk=followup.customer_id)
    opt_out = FollowUpOptOut.objects.filter(customer=customer).first()
    if opt_out is None:
        return 0
    opt_out.delete()
    restored = 0
    told = set()
    for ticket in tickets:
        if ticket.status not in FOLLOWING_UP or ticket.resolved_at is None:
            continue
        # Cancelled by this opt-out, since this resolution: a ticket reopened
        # and resolved again has a plan of its own, not the one cancelled before.
        cancelled = FollowUp.objects.filter(
            ticket=ticket,
            customer=customer,
            status=FollowUp.Status.CANCELLED,
            cancel_reason=UNSUBSCRIBED,
            cancelled_at__gte=max(ticket.resolved_at, opt_out.created_at),
        )
        count = cancelled.filter(due_at__gt=now).update(
            status=FollowUp.Status.SCHEDULED, cancelled_at=None, cancel_reason=""
        )
        missed = cancelled.count()  # those still cancelled: their moment passed
        if count or missed:
            record_event(
                ticket=ticket,
                actor=None,
                action="customer_resubscribed",
                payload={"rescheduled": count, "left_cancelled": missed},
            )
            told.add(ticket.pk)
        restored += count
    if followup.ticket_id not in told:
        record_event(
            ticket=followup.ticket,
            actor=None,
            action="customer_resubscribed",
            payload={"rescheduled": 0, "left_cancelled": 0},
        )
    return restored
