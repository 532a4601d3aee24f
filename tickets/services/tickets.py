from collections.abc import Sequence
from typing import Any, NamedTuple

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Q

from accounts.models import User
from accounts.services import customer_upsert
from core import clock
from core.errors import RuleViolation
from core.transactions import joins_callers_transaction
from tickets import hooks
from tickets.emails import staff_name
from tickets.models import (
    Alert,
    Channel,
    Kind,
    Message,
    NotificationKind,
    Queue,
    Severity,
    Status,
    Ticket,
)
from tickets.services.access import ensure_can_act
from tickets.services.alerts import alert_raise
from tickets.services.attachments import clean_attachments
from tickets.services.events import record_event
from tickets.services.messages import add_customer_message, clean_body, clean_text
from tickets.services.notifications import notify

MAX_SUBJECT_CHARS = 300


def _clean_subject(subject: str) -> str:
    subject = " ".join(subject.split())
    if not subject:
        raise RuleViolation("A subject is required.", field="subject")
    if len(subject) > MAX_SUBJECT_CHARS:
        raise RuleViolation(
            f"The subject is longer than the limit of {MAX_SUBJECT_CHARS} characters.",
            field="subject",
        )
    return subject


def _choice(value: str, choices: type[Any], field: str) -> str:
    if value not in choices.values:
        raise RuleViolation(
            f"{value!r} is not a valid {field}; use one of {', '.join(choices.values)}.",
            field=field,
        )
    return value


def _clean_assignee(assignee: User | None) -> User | None:
    if assignee is not None and not (assignee.is_active and assignee.is_staff):
        raise RuleViolation("Tickets can only be assigned to active staff.", field="assignee")
    return assignee


class NewTicket(NamedTuple):
    ticket: Ticket
    # The customer's first message: inbound mail records which message an
    # email became, without reading it back.
    message: Message


@joins_callers_transaction
def ticket_create(
    *,
    actor: User | None,
    subject: str,
    body: str,
    customer_email: str,
    customer_name: str,
    kind: str = Kind.QUESTION,
    severity: str = Severity.MINOR,
    channel: str = Channel.EMAIL,
    queue: Queue | None = None,
    assignee: User | None = None,
    unassigned: bool = False,
    customer_message_id: str | None = None,
    customer_html: str = "",
    attachments: Sequence[UploadedFile] = (),
    customer_locale: str | None = None,
    customer_time_zone: str | None = None,
) -> NewTicket:
    """Open a ticket with the customer's words as its first message. A ticket
    a person opens is theirs unless they name another assignee, or leave it
    ``unassigned`` (a supervisor, or anyone filing it into a queue). A mishap for
    a customer who is still recovering from another is flagged as a repeat
    failure. A new customer gets ``customer_locale`` and ``customer_time_zone``;
    a known one keeps theirs.

    Joins its caller's transaction where there is one (inbound mail, the
    contact form); otherwise runs in one of its own."""
    subject = _clean_subject(subject)
    body = clean_body(body)
    files = clean_attachments(attachments)
    _choice(kind, Kind, "kind")
    _choice(severity, Severity, "severity")
    _choice(channel, Channel, "channel")
    # Left to nobody only where someone will see it: a supervisor's, or in a queue.
    leave_it = (
        unassigned
        and actor is not None
        and (actor.has_perm("tickets.view_all_tickets") or queue is not None)
    )
    if assignee is None and actor is not None and not leave_it:
        assignee = actor
    _clean_assignee(assignee)
    try:
        # A new customer's language and zone, where known; a known customer keeps theirs.
        customer, _ = customer_upsert(
            email=customer_email,
            name=customer_name,
            locale=customer_locale,
            time_zone=customer_time_zone,
            keep_existing=True,
        )
    except ValidationError as exc:
        field, messages = next(iter(exc.message_dict.items()))
        raise RuleViolation(" ".join(messages), field=f"customer_{field}") from None

    ticket = Ticket.objects.create(
        subject=subject,
        kind=kind,
        severity=severity,
        channel=channel,
        customer=customer,
        queue=queue,
        assignee=assignee,
        created_by=actor,
    )
    message = add_customer_message(
        ticket=ticket,
        body=body,
        email_message_id=customer_message_id,
        body_html=customer_html,
        attachments=files,
    )
    record_event(
        ticket=ticket,
        actor=actor,
        action="created",
        to_status=ticket.status,
        payload={"kind": kind, "severity": severity, "channel": channel, "message_id": message.pk},
    )
    if kind == Kind.MISHAP:
        _flag_if_repeat_failure(ticket, actor)
        hooks.run_lifecycle_hooks("mishap_opened", ticket, actor)
    if assignee is not None:
        notify_assigned(ticket, actor)
    return NewTicket(ticket, message)


_EDITABLE = ("subject", "severity", "channel", "queue", "assignee")


@transaction.atomic
def ticket_update(*, ticket: Ticket, actor: User, **fields: Any) -> Ticket:
    """Change a ticket's subject, severity, channel, queue or assignee. The
    status and kind change only through their own services."""
    unknown = set(fields) - set(_EDITABLE)
    if unknown:
        name = sorted(unknown)[0]
        hint = " Use the transition endpoints." if name == "status" else ""
        raise RuleViolation(f"{name} cannot be changed here.{hint}", field=name)
    locked = (
        Ticket.objects.select_for_update(of=("self",)).select_related("queue").get(pk=ticket.pk)
    )
    ensure_can_act(actor, locked)
    if "subject" in fields:
        fields["subject"] = _clean_subject(fields["subject"])
    if "severity" in fields:
        _choice(fields["severity"], Severity, "severity")
    if "channel" in fields:
        _choice(fields["channel"], Channel, "channel")
    if "assignee" in fields:
        _clean_assignee(fields["assignee"])

    changes = {}
    for name, value in fields.items():
        old = getattr(locked, name)
        if old != value:
            changes[name] = [_plain(old), _plain(value)]
            setattr(locked, name, value)
    if changes:
        locked.save(update_fields=[*changes, "updated_at"])
        record_event(ticket=locked, actor=actor, action="updated", payload=changes)
        if "assignee" in changes and locked.assignee is not None:
            notify_assigned(locked, actor)
    return locked


def notify_assigned(ticket: Ticket, actor: User | None) -> None:
    """Tell the new assignee, unless they took it themselves."""
    by = f" by {staff_name(actor)}" if actor is not None else ""
    notify(
        kind=NotificationKind.ASSIGNED,
        ticket=ticket,
        recipients=[ticket.assignee],
        actor=actor,
        text=f"{ticket.reference} was assigned to you{by}: “{ticket.subject}”, "
        f"from {ticket.customer.name}.",
    )


def _plain(value: Any) -> Any:
    return getattr(value, "pk", value)


@transaction.atomic
def ticket_convert_to_mishap(
    *, ticket: Ticket, actor: User, our_part: str = "", severity: str | None = None
) -> Ticket:
    """Recognize that a question is really our failure. Possible while the
    ticket is open; once acknowledged, a statement of our part is required,
    since the acknowledgement the customer got did not have one."""
    locked = (
        Ticket.objects.select_for_update(of=("self",))
        .select_related("queue", "customer")
        .get(pk=ticket.pk)
    )
    ensure_can_act(actor, locked)
    if locked.kind == Kind.MISHAP:
        raise RuleViolation("This ticket is already a mishap.", field="kind")
    if locked.status not in (Status.NEW, Status.ACKNOWLEDGED):
        raise RuleViolation(
            f"A {locked.get_status_display().lower()} question cannot become a mishap; "
            "reopen it first.",
            field="kind",
        )
    our_part = clean_text(our_part, field="our_part", required=False)
    if locked.status == Status.ACKNOWLEDGED and not our_part:
        raise RuleViolation(
            "State our part in the mishap: the customer's acknowledgement did not.",
            field="our_part",
        )
    if severity is not None:
        _choice(severity, Severity, "severity")
        locked.severity = severity
    locked.kind = Kind.MISHAP
    if our_part:
        locked.our_part = our_part
    locked.save(update_fields=["kind", "severity", "our_part", "updated_at"])
    record_event(
        ticket=locked,
        actor=actor,
        action="converted_to_mishap",
        from_status=locked.status,
        to_status=locked.status,
        payload={"our_part": our_part, "severity": locked.severity},
    )
    _flag_if_repeat_failure(locked, actor)
    hooks.run_lifecycle_hooks("mishap_opened", locked, actor)
    return locked


def _flag_if_repeat_failure(ticket: Ticket, actor: User | None) -> None:
    """A mishap for a customer in a rebuilding period, or out of one for less
    than the window, is a second failure: flag it and tell the supervisors."""
    since = clock.now() - settings.HELPDESK_REPEAT_FAILURE_WINDOW
    previous = (
        Ticket.objects.filter(customer_id=ticket.customer_id, kind=Kind.MISHAP)
        .exclude(pk=ticket.pk)
        .filter(Q(status=Status.REBUILDING) | Q(rebuilding_ended_at__gte=since))
        .order_by("-created_at", "-id")
        .first()
    )
    if previous is None:
        return
    ticket.is_repeat_failure = True
    ticket.repeat_of = previous
    ticket.save(update_fields=["is_repeat_failure", "repeat_of", "updated_at"])
    record_event(
        ticket=ticket,
        actor=actor,
        action="flagged_repeat_failure",
        payload={"repeat_of": previous.pk, "previous_reference": previous.reference},
    )
    still = previous.status == Status.REBUILDING
    alert_raise(
        ticket=ticket,
        kind=Alert.Kind.REPEAT_FAILURE,
        detail=(
            f"{ticket.customer.name} had another mishap ({previous.reference}) and is "
            f"{'still recovering from it' if still else 'only recently recovered'}. "
            "A second failure undoes the recovery: please look at this one yourself."
        ),
        include_assignee=False,
    )
