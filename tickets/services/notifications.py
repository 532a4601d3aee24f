"""Telling staff that something happened on a ticket: a row in their inbox
and an email with a link, as each person chose for the kind. Raised inside
the transaction of the service that caused it, so a rolled-back step tells
nobody; emailed through the outbox once that commits. Who is told, and how each
chose to be, are reads: ``tickets.selectors``."""

import logging
from collections.abc import Iterable, Mapping, Sequence

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.urls import reverse

from accounts.models import User
from core import clock
from core.errors import RuleViolation
from outbox.models import OutboxItem
from outbox.services import outbox_enqueue, outbox_item
from outbox.sources import Attempt, Composed, Delivered, Email, Skip, Source, delivered_at
from tickets.message_ids import our_message_id
from tickets.models import Notification, NotificationKind, NotificationPreference, Ticket
from tickets.selectors import channels_for, preferences_of

logger = logging.getLogger(__name__)

SOURCE = "tickets.notification"
Kind = NotificationKind


def excerpt(text: str, limit: int = 160) -> str:
    """Someone's words on one line, cut with an ellipsis past ``limit``."""
    words = " ".join(text.split())
    return words if len(words) <= limit else words[: limit - 1] + "…"


def notify(
    *,
    kind: str,
    ticket: Ticket,
    recipients: Iterable[User | None],
    text: str,
    actor: User | None = None,
    key: str = "",
    emailed_elsewhere: bool = False,
) -> list[Notification]:
    """Tell ``recipients`` (never the ``actor``: nobody is told what they did
    themselves) about ``ticket``, each as they chose for ``kind``. With
    ``key``, a person already told of that occurrence is not told again.
    ``emailed_elsewhere``: a staff alert already emails this event (and
    honours the same choice), so the notification is the inbox's alone.
    For use inside the causing service's transaction."""
    people = {
        user.pk: user
        for user in recipients
        if user is not None and user.is_active and (actor is None or user.pk != actor.pk)
    }
    if not people:
        return []
    told: set[int] = set()
    if key:
        told = set(
            Notification.objects.filter(recipient_id__in=people, kind=kind, key=key).values_list(
                "recipient_id", flat=True
            )
        )
    rows = []
    for pk, (in_app, email) in channels_for(people, kind).items():
        email = email and not emailed_elsewhere and bool(people[pk].email)
        if pk in told or not (in_app or email):
            continue
        rows.append(
            Notification(
                recipient_id=pk,
                ticket=ticket,
                kind=kind,
                text=text,
                key=key,
                in_app=in_app,
                email=email,
            )
        )
    created = Notification.objects.bulk_create(rows)
    emailed = [row for row in created if row.email]
    if emailed:
        outbox_enqueue(
            [
                outbox_item(
                    source=SOURCE,
                    source_id=row.pk,
                    kind=OutboxItem.Kind.EMAIL,
                    message_id=our_message_id(
                        reference=ticket.reference, unique=f"notification-{row.pk}"
                    ),
                    reference=f"{ticket.reference} notification: {row.get_kind_display()}",
                    recipient=people[row.recipient_id].email,
                )
                for row in emailed
            ]
        )
    return created


# --- Reading them --------------------------------------------------------------------


def notification_mark_read(*, notification: Notification) -> Notification:
    """Mark a notification read (read again is no change). The caller found
    it among the reader's own (``selectors.notifications_of``)."""
    if notification.read_at is None:
        now = clock.now()
        if Notification.objects.filter(pk=notification.pk, read_at=None).update(read_at=now):
            notification.read_at = now
        else:
            notification.refresh_from_db(fields=["read_at"])
    return notification


def notifications_mark_all_read(*, user: User, ticket: Ticket | None = None) -> int:
    """Mark every unread notification of the user's read (of one ticket, when
    given: opening a ticket reads what it was about); returns how many."""
    unread = Notification.objects.filter(recipient=user, in_app=True, read_at=None)
    if ticket is not None:
        unread = unread.filter(ticket=ticket)
    return unread.update(read_at=clock.now())


@transaction.atomic
def notification_preferences_set(
    *, user: User, choices: Mapping[str, tuple[bool, bool]]
) -> dict[str, tuple[bool, bool]]:
    """Each kind in ``choices`` told (in the inbox, by email) as given; the
    others keep what they were. Returns every kind's channels."""
    unknown = sorted(set(choices) - set(Kind.values))
    if unknown:
        raise RuleViolation(f"There is no notification kind {unknown[0]!r}.", field="kind")
    for kind, (in_app, email) in choices.items():
        NotificationPreference.objects.update_or_create(
            user=user, kind=kind, defaults={"in_app": bool(in_app), "email": bool(email)}
        )
    return preferences_of(user)


# --- Their emails, through the outbox ------------------------------------------------


def console_url(name: str, *args: object) -> str:
    """An absolute link into the console, for email (read outside any request)."""
    return settings.HELPDESK_PUBLIC_URL + reverse(name, args=args)


def notification_email(notification: Notification) -> tuple[str, str]:
    """Subject and text: what happened, then the link to the ticket, then where
    to change what one is told. In English, as the console is."""
    ticket = notification.ticket
    text = (
        f"{notification.text}\n\nOpen the ticket:\n"
        f"{console_url('console:tickets_ticket_change', ticket.pk)}\n\n"
        f"-- \n{ticket.reference}: {ticket.subject}\n"
        f"Choose what you are told, and how: {console_url('console:notification_settings')}\n"
    )
    return f"[{ticket.reference}] {notification.get_kind_display()}", text


def _compose(notification_ids: Sequence[int]) -> Mapping[int, Composed]:
    rows = Notification.objects.select_related("ticket", "recipient").filter(
        pk__in=notification_ids, email=True, emailed_at=None
    )
    composed: dict[int, Composed] = {}
    for row in rows:
        if not (row.recipient.is_active and row.recipient.email):
            composed[row.pk] = Skip("Its recipient has no email address now, or left.")
            continue
        subject, text = notification_email(row)
        composed[row.pk] = Email(EmailMessage(subject=subject, body=text, to=[row.recipient.email]))
    return composed


def _delivered(deliveries: Sequence[Delivered]) -> None:
    Notification.objects.filter(pk__in=[d.source_id for d in deliveries]).update(
        emailed_at=delivered_at(SOURCE), email_error=""
    )


def _attempt_failed(notification_id: int, attempt: Attempt) -> None:
    Notification.objects.filter(pk=notification_id).update(email_error=attempt.error[:2000])


def _failed(notification_id: int, error: str) -> None:
    """Still in the inbox; whoever watches the logs is told the email did not go."""
    Notification.objects.filter(pk=notification_id).update(email_error=error[:2000])
    logger.error("Notification %s could not be emailed: %s", notification_id, error)


def _cancelled(notification_id: int, reason: str) -> None:
    Notification.objects.filter(pk=notification_id).update(email_error=reason[:2000])


NOTIFICATIONS = Source(
    name=SOURCE,
    compose=_compose,
    delivered=_delivered,
    attempt_failed=_attempt_failed,
    failed=_failed,
    cancelled=_cancelled,
)
