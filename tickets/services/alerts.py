from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from accounts.roles import Role
from core.delivery import claimable, waiting_since
from tickets.models import Alert, Ticket

# A claim older than this is taken to belong to a worker that died.
CLAIM_TIMEOUT = timedelta(minutes=10)
MAX_ATTEMPTS = 5
# Longer than any retry's wait, so an alert waiting for its retry is left alone.
REQUEUE_AFTER = timedelta(minutes=10)


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
    alert = Alert.objects.create(ticket=ticket, kind=kind, detail=detail)
    if recipients is not None:
        alert.recipients.set([u for u in recipients if u.is_active])
        _queue_alert(alert)
        return alert
    to = set(
        User.objects.filter(is_active=True, groups__name=Role.SUPERVISOR).values_list(
            "pk", flat=True
        )
    )
    assignee = ticket.assignee
    if include_assignee and assignee is not None and assignee.is_active:
        to.add(assignee.pk)
    alert.recipients.set(to)
    _queue_alert(alert)
    return alert


def _queue_alert(alert: Alert) -> None:
    from tickets.tasks import alert_send_email

    # celery-types does not know delay_on_commit (Celery 5.4) yet.
    alert_send_email.delay_on_commit(alert.pk)  # type: ignore[attr-defined]


def alert_deliver(*, alert_id: int) -> bool:
    """Email the alert to its recipients, once. Returns False when there was
    nothing to do (sent, failed for good, or claimed by another worker).
    After ``MAX_ATTEMPTS`` refusals the alert is marked failed."""
    now = timezone.now()
    claimed = (
        Alert.objects.filter(pk=alert_id, sent_at=None, failed_at=None)
        .filter(claimable(now, CLAIM_TIMEOUT))
        .update(claimed_at=now, last_attempt_at=now, attempts=F("attempts") + 1)
    )
    if not claimed:
        return False
    alert = Alert.objects.select_related("ticket").get(pk=alert_id)
    addresses = [u.email for u in alert.recipients.all() if u.email]
    try:
        if addresses:
            subject, text = alert_email(alert)
            send_mail(subject=subject, message=text, from_email=None, recipient_list=addresses)
    except Exception as exc:
        Alert.objects.filter(pk=alert_id).update(
            claimed_at=None,
            last_error=f"{type(exc).__name__}: {exc}"[:2000],
            failed_at=timezone.now() if alert.attempts >= MAX_ATTEMPTS else None,
        )
        raise
    Alert.objects.filter(pk=alert_id).update(sent_at=timezone.now(), last_error="")
    return True


def console_url(name: str, *args: object) -> str:
    """An absolute link into the console, for email (read outside any request)."""
    return settings.HELPDESK_PUBLIC_URL + reverse(name, args=args)


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


def alerts_requeue_stalled(*, now: datetime | None = None) -> list[int]:
    """Ids of alerts whose task was lost (a broker restart, a killed worker),
    for beat to queue again."""
    now = now or timezone.now()
    abandoned = Q(claimed_at__lt=now - CLAIM_TIMEOUT)
    stalled = Alert.objects.filter(sent_at=None, failed_at=None).filter(
        waiting_since(now - REQUEUE_AFTER) | abandoned
    )
    return list(stalled.values_list("pk", flat=True)[:1000])
