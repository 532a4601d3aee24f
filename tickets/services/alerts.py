"""Staff alerts: recorded for the console and emailed once through the
outbox (``outbox/``), to the people who can act on them."""

import logging
from collections.abc import Mapping, Sequence

from django.core.mail import EmailMessage
from django.db.models import F

from accounts.models import User
from core import clock
from core.inserts import inserted
from outbox.models import OutboxItem
from outbox.services import outbox_enqueue, outbox_item
from outbox.sources import Attempt, Composed, Delivered, Email, Skip, Source, delivered_at
from tickets.message_ids import our_message_id
from tickets.models import Alert, NotificationKind, Ticket
from tickets.selectors import supervisors, wants_email
from tickets.services.notifications import console_url, notify

logger = logging.getLogger(__name__)

SOURCE = "tickets.alert"


def alert_raise(
    *,
    ticket: Ticket,
    kind: str,
    detail: str,
    include_assignee: bool = True,
    recipients: list[User] | None = None,
) -> Alert:
    """Record an alert and email it once the transaction commits: to the
    ticket's assignee and every supervisor, or to ``recipients`` when given.
    For use inside a service's transaction."""
    alert = inserted(Alert(ticket=ticket, kind=kind, detail=detail))
    if recipients is not None:
        people = [u for u in recipients if u.is_active]
    else:
        people = supervisors()
        if include_assignee and ticket.assignee_id is not None:
            assignee = ticket.assignee
            if assignee is not None and assignee.is_active:
                people.append(assignee)
    people = list({user.pk: user for user in people}.values())
    # A new alert has no recipients yet: written at once, in one statement
    # (a manager's set() would first read which it has, and which exist).
    Alert.recipients.through.objects.bulk_create(
        [Alert.recipients.through(alert=alert, user=user) for user in people]
    )
    if kind in NOTIFIED_AS:
        # Also in each reader's inbox; the alert's email is the email, sent to
        # those who want this kind by email.
        notify(
            kind=NOTIFIED_AS[kind],
            ticket=ticket,
            recipients=people,
            text=detail,
            emailed_elsewhere=True,
        )
    _queue_alert(alert)
    return alert


# The alerts that are also notifications, by the notification's kind.
NOTIFIED_AS: dict[str, str] = {
    Alert.Kind.ACKNOWLEDGE_BREACH: NotificationKind.TARGET_MISSED,
    Alert.Kind.APOLOGY_BREACH: NotificationKind.TARGET_MISSED,
    Alert.Kind.LOW_RATING: NotificationKind.LOW_RATING,
    Alert.Kind.APPROVAL_DECIDED: NotificationKind.APPROVAL_DECIDED,
}


def _queue_alert(alert: Alert) -> None:
    ticket = alert.ticket
    outbox_enqueue(
        [
            outbox_item(
                source=SOURCE,
                source_id=alert.pk,
                kind=OutboxItem.Kind.EMAIL,
                message_id=our_message_id(reference=ticket.reference, unique=f"alert-{alert.pk}"),
                reference=f"{ticket.reference} alert: {alert.get_kind_display()}",
            )
        ]
    )


def _where_to_act(alert: Alert) -> tuple[str, str]:
    """Where the reader acts on an alert: a request for approval on the
    supervisors' approvals page, everything else on the ticket's page."""
    if alert.kind == Alert.Kind.APPROVAL_REQUESTED:
        return "Approve or reject it on the approvals page:", console_url("console:approvals")
    return "Open the ticket:", console_url("console:tickets_ticket_change", alert.ticket_id)


def alert_email(alert: Alert) -> tuple[str, str]:
    """The subject and text of an alert's email: what happened and what to do
    (the alert's detail), then the link to where to do it. In English, as the
    console is; the subject carries the ticket's reference."""
    ticket = alert.ticket
    lead, url = _where_to_act(alert)
    text = f"{alert.detail}\n\n{lead}\n{url}\n\n-- \n{ticket.reference}: {ticket.subject}\n"
    return f"[{ticket.reference}] {alert.get_kind_display()}", text


def _compose(alert_ids: Sequence[int]) -> Mapping[int, Composed]:
    alerts = (
        Alert.objects.select_related("ticket")
        .prefetch_related("recipients")
        .filter(pk__in=alert_ids, sent_at=None, failed_at=None)
    )
    composed: dict[int, Composed] = {}
    for alert in alerts:
        readers = [u for u in alert.recipients.all() if u.email and u.is_active]
        if alert.kind in NOTIFIED_AS:
            wanted = wants_email([u.pk for u in readers], NOTIFIED_AS[alert.kind])
            readers = [u for u in readers if u.pk in wanted]
        addresses = [u.email for u in readers]
        if not addresses:
            composed[alert.pk] = Skip(
                "None of its recipients has an email address or wants this kind by email."
            )
            continue
        subject, text = alert_email(alert)
        composed[alert.pk] = Email(EmailMessage(subject=subject, body=text, to=addresses))
    return composed


def _delivered(deliveries: Sequence[Delivered]) -> None:
    Alert.objects.filter(pk__in=[d.source_id for d in deliveries]).update(
        sent_at=delivered_at(SOURCE), attempts=F("attempts") + 1, last_error=""
    )


def _attempt_failed(alert_id: int, attempt: Attempt) -> None:
    Alert.objects.filter(pk=alert_id).update(
        attempts=F("attempts") + 1, last_error=attempt.error[:2000]
    )


def _failed(alert_id: int, error: str) -> None:
    """Still in the console; whoever watches the logs is told it did not go."""
    Alert.objects.filter(pk=alert_id).update(failed_at=clock.now(), last_error=error[:2000])
    logger.error("Alert %s could not be emailed: %s", alert_id, error)


def _cancelled(alert_id: int, reason: str) -> None:
    """Not emailed (nobody it names has an address): still in the console."""
    Alert.objects.filter(pk=alert_id).update(failed_at=clock.now(), last_error=reason[:2000])


def _requeued(alert_id: int) -> None:
    Alert.objects.filter(pk=alert_id).update(failed_at=None)


ALERTS = Source(
    name=SOURCE,
    compose=_compose,
    delivered=_delivered,
    attempt_failed=_attempt_failed,
    failed=_failed,
    cancelled=_cancelled,
    requeued=_requeued,
)
