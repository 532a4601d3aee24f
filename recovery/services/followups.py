"""The rebuilding period: follow-ups scheduled on resolution, swept by beat,
sent once each, in the customer's morning."""

import logging
import re
import zlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from email.utils import formataddr
from functools import lru_cache
from time import monotonic as time_monotonic
from typing import Any, NamedTuple, TypeGuard
from zoneinfo import ZoneInfo

from babel.lists import format_list
from babel.numbers import format_currency
from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.db.models import F, Q
from django.template import Context, Template, TemplateSyntaxError
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext, gettext_lazy

from accounts.models import Customer, User
from core.dates import customer_date, customer_datetime, zone_name
from core.delivery import claimable
from core.errors import DomainError, RuleViolation
from core.languages import FALLBACK, babel_locale, customer_language, language_tag
from recovery.followup_defaults import DEFAULT_STEPS, QUESTION_STEPS
from recovery.models import (
    Feedback,
    FollowUp,
    FollowUpOptOut,
    FollowUpPlan,
    ProcessFix,
    Restitution,
    RestitutionKind,
)
from tickets.emails import from_address, staff_name
from tickets.models import Alert, Commitment, Kind, Status, Ticket
from tickets.services.access import ensure_can_act
from tickets.services.alerts import alert_raise
from tickets.services.events import record_event
from tickets.services.messages import clean_text
from tickets.voice import greeting_for

logger = logging.getLogger(__name__)

QUEUED_TIMEOUT = timedelta(minutes=15)  # a queued row older than this lost its task
CLAIM_TIMEOUT = timedelta(minutes=10)
MAX_ATTEMPTS = 5
SWEEP_BATCH = 500
# Follow-ups per send task: one SMTP connection and four reads for the lot,
# small enough that several workers share a sweep's rows.
SEND_BATCH = 50
# A batch claims no new row after this many seconds and hands the rest to a
# new task: well inside Celery's soft time limit, whatever the mail server's pace.
BATCH_TIME_LIMIT = 60.0
LOW_RATING = 2
FEEDBACK_SALT = "recovery.followup.feedback"
UNSUBSCRIBE_SALT = "recovery.followup.unsubscribe"


# --- Scheduling ------------------------------------------------------------------


def morning_slot(*, day: date, zone: ZoneInfo, spread_key: int) -> datetime:
    """A time in the customer's morning window on ``day``, spread
    deterministically across the window so a batch does not all go at 09:00."""
    start = settings.HELPDESK_FOLLOWUP_WINDOW_START
    minutes = (settings.HELPDESK_FOLLOWUP_WINDOW_END - start) * 60
    offset = zlib.crc32(str(spread_key).encode()) % max(minutes, 1)
    local = datetime.combine(day, time(start), tzinfo=zone) + timedelta(minutes=offset)
    # Round-trip through UTC: a wall time inside a DST gap becomes a real instant.
    return local.astimezone(ZoneInfo("UTC")).astimezone(zone)


def plan_steps(severity: str) -> list[tuple[int, str, str]]:
    """The steps of the mishap plan for ``severity``, in English."""
    return [(t.offset_days, t.subject, t.body) for t in _mishap_texts(severity, FALLBACK)]


class StepText(NamedTuple):
    """What one step of a plan says to a customer, and in which language."""

    offset_days: int
    subject: str
    body: str
    language: str


def step_texts(ticket: Ticket, language: str) -> list[StepText]:
    """What the follow-ups of ``ticket`` will say to a customer who reads
    ``language`` (a code of settings.LANGUAGES): for a mishap, its severity's
    plan, a step in that language where the supervisor wrote it and in
    English where not; the code's default plan (and a question's check-in)
    through the translation catalogue."""
    if ticket.kind != Kind.MISHAP:
        return _defaults(QUESTION_STEPS, language)
    return _mishap_texts(ticket.severity, language)


def _mishap_texts(severity: str, language: str) -> list[StepText]:
    plan = FollowUpPlan.objects.filter(severity=severity).prefetch_related("steps").first()
    if plan is None:
        return _defaults(DEFAULT_STEPS, language)
    texts = []
    for step in plan.steps.all():
        own = step.translations.get(language) if language != FALLBACK else None
        if own and own.get("subject") and own.get("body"):
            texts.append(StepText(step.offset_days, own["subject"], own["body"], language))
        else:
            # The whole email in English then, greeting and links too: an
            # English text under a Portuguese greeting and lang would say the
            # wrong language.
            texts.append(
                StepText(step.offset_days, step.subject_template, step.body_template, FALLBACK)
            )
    return texts


def _defaults(steps: Sequence[tuple[int, Any, Any]], language: str) -> list[StepText]:
    """The code's steps (lazily translated) as the catalogue of ``language`` says them."""
    with translation.override(language):
        return [StepText(day, str(subject), str(body), language) for day, subject, body in steps]


def followups_schedule(ticket: Ticket, actor: User | None) -> list[FollowUp]:
    """Lifecycle hook on resolution: schedule the plan of the mishap's
    severity, each step in the customer's morning; for an answered question,
    the one "How did we do?" check-in of ``QUESTION_STEPS``. Each row keeps
    the text it will send, in the customer's language where we have it
    (English otherwise), and that language. Runs in the resolve's
    transaction, so the rows exist exactly when the ticket is resolved."""
    # Locked, so an unsubscribe that commits meanwhile is seen (see customer_unsubscribe).
    customer = Customer.objects.select_for_update().get(pk=ticket.customer_id)
    if FollowUpOptOut.objects.filter(customer=customer).exists():
        record_event(
            ticket=ticket,
            actor=None,
            action="followups_skipped",
            payload={"reason": "The customer unsubscribed from follow-ups."},
        )
        return []
    texts = step_texts(ticket, customer_language(customer.locale))
    resolved_local = timezone.localtime(ticket.resolved_at or timezone.now(), customer.zone)
    rows = [
        FollowUp(
            ticket=ticket,
            customer=customer,
            step_number=number,
            offset_days=text.offset_days,
            subject_template=text.subject,
            body_template=text.body,
            language=text.language,
            due_at=morning_slot(
                day=resolved_local.date() + timedelta(days=text.offset_days),
                zone=customer.zone,
                spread_key=ticket.pk * 100 + number,
            ),
        )
        for number, text in enumerate(texts, start=1)
    ]
    created = FollowUp.objects.bulk_create(rows)
    record_event(
        ticket=ticket,
        actor=actor,
        action="followups_scheduled",
        payload={"due": [row.due_at.isoformat() for row in created]},
    )
    return created


def _cancel(followups: Any, reason: str) -> int:
    return int(
        followups.filter(status__in=[FollowUp.Status.SCHEDULED, FollowUp.Status.QUEUED]).update(
            status=FollowUp.Status.CANCELLED, cancelled_at=timezone.now(), cancel_reason=reason
        )
    )


def followups_cancel_for_ticket(ticket: Ticket, actor: User | None) -> None:
    """Lifecycle hook on reopen and restore: what was pending will not be sent."""
    reason = (
        "The ticket was reopened."
        if ticket.status == Status.ACKNOWLEDGED
        else ("The rebuilding period was ended.")
    )
    cancelled = _cancel(FollowUp.objects.filter(ticket=ticket), reason)
    if cancelled:
        record_event(
            ticket=ticket,
            actor=actor,
            action="followups_cancelled",
            payload={"count": cancelled, "reason": reason},
        )


@transaction.atomic
def followup_cancel(*, followup: FollowUp, actor: User, reason: str) -> FollowUp:
    """An agent cancels one pending follow-up, with a reason."""
    reason = clean_text(reason, field="reason", limit=2_000)
    # The ticket first, then its follow-ups: the order reopen and restore take.
    ticket = (
        Ticket.objects.select_for_update(of=("self",))
        .select_related("queue")
        .get(pk=followup.ticket_id)
    )
    locked = FollowUp.objects.select_for_update().get(pk=followup.pk)
    ensure_can_act(actor, ticket)
    if not locked.is_pending:
        raise RuleViolation(
            f"A {locked.get_status_display().lower()} follow-up cannot be cancelled."
        )
    _cancel(FollowUp.objects.filter(pk=locked.pk), reason)
    record_event(
        ticket=ticket,
        actor=actor,
        action="followup_cancelled",
        payload={"followup": locked.pk, "reason": reason},
    )
    locked.refresh_from_db()
    return locked


# --- Sweeping and sending -----------------------------------------------------------


def followups_claim_due(*, now: datetime | None = None) -> list[int]:
    """Mark due rows queued and queue their send tasks on commit, SEND_BATCH
    rows a task. Several sweeps at once each take different rows (SKIP
    LOCKED); a row queued long ago whose task was lost (a broker restart) is
    queued again."""
    from recovery.tasks import followup_send_batch_task

    now = now or timezone.now()
    with transaction.atomic():
        due = list(
            FollowUp.objects.select_for_update(skip_locked=True)
            .filter(
                Q(status=FollowUp.Status.SCHEDULED, due_at__lte=now)
                | Q(status=FollowUp.Status.QUEUED, queued_at__lt=now - QUEUED_TIMEOUT)
            )
            .order_by("due_at", "id")
            .values_list("pk", flat=True)[:SWEEP_BATCH]
        )
        FollowUp.objects.filter(pk__in=due).update(status=FollowUp.Status.QUEUED, queued_at=now)
        for start in range(0, len(due), SEND_BATCH):
            # celery-types does not know delay_on_commit (Celery 5.4) yet.
            followup_send_batch_task.delay_on_commit(  # type: ignore[attr-defined]
                due[start : start + SEND_BATCH]
            )
    return due


class FollowUpSendFailed(Exception):
    pass


@dataclass
class Dispatch:
    """What a batch did with each of its ids. An id in none of the lists was
    skipped: sent, cancelled or claimed by someone else already, or put off
    to the customer's morning."""

    sent: list[int] = field(default_factory=list)
    # Refused or broken off mid-send: the failure is recorded on the row, which
    # stays queued (or failed, after MAX_ATTEMPTS) for a retry on its own.
    failed: dict[int, str] = field(default_factory=dict)
    # Not claimed, so no attempt spent: still queued for another task.
    left: list[int] = field(default_factory=list)
    # Why ``left`` is not empty: the mail server could not be reached (retry
    # later), rather than the batch using up its time (go on at once).
    unreachable: bool = False


def followups_deliver(*, followup_ids: Sequence[int]) -> Dispatch:
    """Send a batch of follow-ups over one SMTP connection, each once: each
    row is claimed with a conditional UPDATE just before its send (a row held
    by another task, or no longer queued, is skipped), sent outside any
    transaction with its stable Message-ID, and marked sent right after, so
    a worker that dies mid-batch resends nothing it marked. The rows and
    everything their emails say are read in a fixed number of queries.

    A refused mail does not stop the others: its failure is recorded (failed
    for good after MAX_ATTEMPTS, the assignee told) and the caller retries it
    alone. A server that cannot be reached costs no attempt: the rows not yet
    claimed are handed back in ``left``, as are those a long batch had no
    time for (BATCH_TIME_LIMIT)."""
    dispatch = Dispatch()
    followups = _for_sending(followup_ids)
    contexts = email_contexts(followups)
    deadline = time_monotonic() + BATCH_TIME_LIMIT
    connection = get_connection()
    try:
        for index, followup in enumerate(followups):
            if index and time_monotonic() > deadline:  # at least one row a task
                dispatch.left = [row.pk for row in followups[index:]]
                break
            now = timezone.now()
            if settings.HELPDESK_FOLLOWUP_SEND_ONLY_IN_WINDOW and _postpone_if_night(followup, now):
                continue
            try:
                # Before the claim: an unreachable server costs the row no attempt.
                connection.open()
            except OSError as exc:
                logger.warning(
                    "Mail server unreachable, %s follow-ups left: %s", len(followups) - index, exc
                )
                dispatch.left = [row.pk for row in followups[index:]]
                dispatch.unreachable = True
                break
            claimed = FollowUp.objects.filter(
                claimable(now, CLAIM_TIMEOUT), pk=followup.pk, status=FollowUp.Status.QUEUED
            ).update(claimed_at=now, attempts=F("attempts") + 1)
            if not claimed:
                continue
            try:
                email = build_followup_email(followup, contexts[followup.pk])
                email.connection = connection
                email.send()
            # Whatever went wrong with this one mail (a refusal, a template
            # error, a dropped connection) is its own failure, not the batch's.
            except Exception as exc:  # noqa: BLE001
                _record_failure(followup, exc, claim=now)
                dispatch.failed[followup.pk] = f"{type(exc).__name__}: {exc}"
                # The session's state is unknown after an error: the next mail
                # starts a new one.
                _close_quietly(connection)
                continue
            # Recorded as sent even if cancelled during the send: the mail did go.
            FollowUp.objects.filter(pk=followup.pk, claimed_at=now).update(
                status=FollowUp.Status.SENT, sent_at=timezone.now(), last_error=""
            )
            dispatch.sent.append(followup.pk)
    finally:
        _close_quietly(connection)
    return dispatch


def followup_deliver(*, followup_id: int) -> bool:
    """Send one follow-up, once (see ``followups_deliver``): True if sent,
    False if there was nothing to send; FollowUpSendFailed if it could not be
    sent now."""
    dispatch = followups_deliver(followup_ids=[followup_id])
    if dispatch.failed:
        raise FollowUpSendFailed(dispatch.failed[followup_id])
    if dispatch.left:
        raise FollowUpSendFailed("The mail server could not be reached.")
    return bool(dispatch.sent)


def _for_sending(followup_ids: Sequence[int]) -> list[FollowUp]:
    """The queued rows among ``followup_ids``, in that order, with the rows
    their emails read (ticket, customer, assignee for a failure's alert)."""
    rows = FollowUp.objects.select_related(
        "customer", "ticket__customer", "ticket__assignee"
    ).filter(pk__in=followup_ids, status=FollowUp.Status.QUEUED)
    by_id = {row.pk: row for row in rows}
    return [by_id[pk] for pk in dict.fromkeys(followup_ids) if pk in by_id]


def _close_quietly(connection: Any) -> None:
    try:
        connection.close()
    except OSError as exc:  # smtplib's errors are OSErrors; the mails are already marked
        logger.info("Closing the mail connection failed: %s", exc)


def _postpone_if_night(followup: FollowUp, now: datetime) -> bool:
    """A follow-up whose moment passed while workers were down or busy waits
    for the customer's next morning rather than arrive at night."""
    zone = followup.customer.zone
    local = timezone.localtime(now, zone)
    start, end = settings.HELPDESK_FOLLOWUP_WINDOW_START, settings.HELPDESK_FOLLOWUP_WINDOW_END
    if start <= local.hour < end:
        return False
    day = local.date() if local.hour < start else local.date() + timedelta(days=1)
    slot = morning_slot(day=day, zone=zone, spread_key=followup.pk)
    FollowUp.objects.filter(
        claimable(now, CLAIM_TIMEOUT),
        pk=followup.pk,
        status=FollowUp.Status.QUEUED,
    ).update(status=FollowUp.Status.SCHEDULED, due_at=slot, queued_at=None)
    return True


@transaction.atomic
def _record_failure(followup: FollowUp, exc: Exception, *, claim: datetime) -> None:
    error = f"{type(exc).__name__}: {exc}"[:2000]
    # The ticket first (the order reopen takes), and only our own claim of a
    # row still queued: a follow-up cancelled meanwhile stays cancelled.
    Ticket.objects.select_for_update(of=("self",)).filter(pk=followup.ticket_id).first()
    # The attempts as our claim left them (the row was read before it).
    attempts = (
        FollowUp.objects.select_for_update()
        .filter(pk=followup.pk, status=FollowUp.Status.QUEUED, claimed_at=claim)
        .values_list("attempts", flat=True)
        .first()
    )
    if attempts is None:
        return
    final = attempts >= MAX_ATTEMPTS
    FollowUp.objects.filter(pk=followup.pk).update(
        status=FollowUp.Status.FAILED if final else FollowUp.Status.QUEUED,
        claimed_at=None,
        last_error=error,
    )
    if final:
        ticket = followup.ticket
        record_event(
            ticket=ticket,
            actor=None,
            action="followup_failed",
            payload={"followup": followup.pk, "error": error},
        )
        alert_raise(
            ticket=ticket,
            kind=Alert.Kind.FOLLOWUP_FAILED,
            detail=(
                f"Follow-up {followup.step_number} to {ticket.customer.name} could not be sent "
                f"after {attempts} tries ({error}). Check their email address, or write to "
                "them yourself."
            ),
            recipients=[ticket.assignee] if ticket.assignee else [],
        )


# The ratings a customer may give, best first, as the email and the pages list them.
RATINGS = (5, 4, 3, 2, 1)


@dataclass(frozen=True)
class Links:
    """A follow-up's signed links: the rating chooser (``feedback``), the
    one-click unsubscribe, and one link per rating, best first
    (``ratings``: [(5, url), ..., (1, url)]), each of which records its
    rating when followed."""

    feedback: str
    unsubscribe: str
    ratings: list[tuple[int, str]]


def links_for(followup: FollowUp) -> Links:
    base = settings.HELPDESK_PUBLIC_URL

    def signed(payload: dict[str, int], salt: str) -> str:
        return signing.dumps(payload, salt=salt, compress=True)

    # {"f": pk} is also the shape of every link sent before one-click ratings,
    # so those emails' links keep working (see feedback_from_link).
    return Links(
        feedback=f"{base}/feedback/{signed({'f': followup.pk}, FEEDBACK_SALT)}/",
        unsubscribe=f"{base}/unsubscribe/{signed({'f': followup.pk}, UNSUBSCRIBE_SALT)}/",
        ratings=[
            (rating, f"{base}/feedback/{signed({'f': followup.pk, 'r': rating}, FEEDBACK_SALT)}/")
            for rating in RATINGS
        ],
    )


def email_contexts(followups: Sequence[FollowUp]) -> dict[int, dict[str, Any]]:
    """What each follow-up's templates may say, by follow-up id: plain values,
    never model instances, so a template cannot reach further
    (``ticket.assignee.password``). Three queries (commitments, restitutions
    in force, process fixes done) whatever the number of follow-ups; read their
    tickets and customers with ``select_related("ticket__customer")``.

    Read as the mail goes out, and only what is true then: the promise once
    it is kept (on time, or late with the day it was kept), restitutions
    still in force, process fixes done. Our internal account of the mishap
    (``ticket.our_part``) is the staff's and never reaches the customer."""
    ticket_ids = {followup.ticket_id for followup in followups}
    if not ticket_ids:
        return {}
    latest: dict[int, Commitment] = {}
    for commitment in Commitment.objects.filter(ticket_id__in=ticket_ids).order_by(
        "-created_at", "-id"
    ):
        latest.setdefault(commitment.ticket_id, commitment)
    restitutions: dict[int, list[Restitution]] = defaultdict(list)
    for restitution in Restitution.objects.filter(
        ticket_id__in=ticket_ids,
        status__in=[Restitution.Status.GRANTED, Restitution.Status.APPROVED],
    ):
        restitutions[restitution.ticket_id].append(restitution)
    fixes: dict[int, list[DoneFix]] = defaultdict(list)
    # Only fixes done by now: this runs as the mail goes out, so a fix merely
    # proposed, still under way, or dropped since the plan was scheduled is
    # never announced as a change we made. In the fixes' own order (newest
    # first), as ticket.process_fixes.all() lists them.
    for ticket_id, failsafe_change, done_at in (
        ProcessFix.objects.filter(tickets__in=ticket_ids)
        .filter(status=ProcessFix.Status.DONE)
        .values_list("tickets", "failsafe_change", "done_at")
    ):
        # process_fix_set_status dates every fix it marks done; one without
        # a date is not told rather than told without its day.
        if done_at is not None:
            fixes[ticket_id].append(DoneFix(failsafe_change, done_at))
    return {
        followup.pk: _context(
            followup,
            commitment=latest.get(followup.ticket_id),
            restitutions=restitutions[followup.ticket_id],
            fixes=fixes[followup.ticket_id],
        )
        for followup in followups
    }


class DoneFix(NamedTuple):
    """A process fix a follow-up may announce: what changed, and when it was done."""

    failsafe_change: str
    done_at: datetime


# How a restitution is named in a sentence, by kind, with its amount.
_DESCRIBED = {
    RestitutionKind.REFUND: gettext_lazy("a refund of %(money)s"),
    RestitutionKind.CREDIT: gettext_lazy("a credit of %(money)s"),
    RestitutionKind.GIFT: gettext_lazy("a gift worth %(money)s"),
    RestitutionKind.DISCOUNT: gettext_lazy("a discount of %(money)s"),
    RestitutionKind.REPLACEMENT: gettext_lazy("a replacement worth %(money)s"),
    RestitutionKind.FEE_WAIVER: gettext_lazy("a waived fee of %(money)s"),
    RestitutionKind.OTHER: gettext_lazy("compensation of %(money)s"),
}


def _context(
    followup: FollowUp,
    *,
    commitment: Commitment | None,
    restitutions: list[Restitution],
    fixes: list[DoneFix],
) -> dict[str, Any]:
    """One follow-up's context, worded in its language: days, times and
    money as the customer reads them, in their zone."""
    ticket = followup.ticket
    zone = followup.customer.zone
    with translation.override(followup.language):
        locale = babel_locale(followup.language)
        gifts = []
        for r in restitutions:
            money = format_currency(r.amount, r.currency, locale=locale)
            gifts.append(
                {
                    "kind": r.kind,
                    "get_kind_display": str(r.get_kind_display()),
                    "amount": r.amount,
                    "currency": r.currency,
                    "money": money,
                    "described": str(_DESCRIBED[RestitutionKind(r.kind)]) % {"money": money},
                }
            )
        return {
            "customer": {"name": ticket.customer.name, "email": ticket.customer.email},
            "ticket": {"reference": ticket.reference, "subject": ticket.subject},
            "commitment": _kept_promise(commitment, zone),
            "restitutions": gifts,
            "restitutions_listed": format_list([g["described"] for g in gifts], locale=locale)
            if gifts
            else "",
            "process_fixes": [
                {
                    "failsafe_change": fix.failsafe_change,
                    # The day as the customer lived it: a fix done late on the 8th
                    # in UTC was done on the 9th in Tokyo.
                    "done_on": customer_date(fix.done_at, zone),
                }
                for fix in fixes
            ],
        }


def _kept_promise(commitment: Commitment | None, zone: ZoneInfo) -> dict[str, Any] | None:
    """The promise, once kept: on time (``kept``), or late, with the day it
    was kept. One not kept yet is not told: a follow-up cannot say we did
    what we have not done (a plan's ``{% if commitment.kept %}...{% else %}``
    would have told an open promise as kept late)."""
    if commitment is None or commitment.fulfilled_at is None:
        return None
    return {
        "promise": commitment.promise,
        "kept": bool(commitment.kept),
        "fulfilled_on": customer_date(commitment.fulfilled_at, zone),
        "due_on": customer_date(commitment.due_at, zone),
        "due_at": gettext("%(when)s, %(zone)s")
        % {"when": customer_datetime(commitment.due_at, zone), "zone": zone_name(zone)},
    }


@lru_cache(maxsize=256)
def _compiled(source: str) -> Template:
    # A plan has a handful of templates and a worker sends thousands of mails:
    # compile each once per process, not once per mail.
    return Template(source)


def render_template(source: str, context: dict[str, Any]) -> str:
    """A plan's template rendered as plain text; the blank lines its empty
    ``{% if %}`` parts leave are closed up."""
    text = _compiled(source).render(Context(context, autoescape=False))
    lines = "\n".join(line.rstrip() for line in text.strip().splitlines())
    return re.sub(r"\n{3,}", "\n\n", lines)


# The one-click answers under every follow-up, best first.
RATING_LABELS = {
    5: gettext_lazy("Very well"),
    4: gettext_lazy("Well"),
    3: gettext_lazy("Neither well nor badly"),
    2: gettext_lazy("Badly"),
    1: gettext_lazy("Very badly"),
}


@dataclass(frozen=True)
class FollowUpEmail:
    """What the customer reads. The plain text and the HTML are rendered
    from the same parts, so they say the same."""

    subject: str
    text: str
    html: str
    language: str  # a BCP 47 tag, as in the HTML's lang
    from_email: str


def compose_followup_email(
    followup: FollowUp, context: dict[str, Any], links: Links
) -> FollowUpEmail:
    """The follow-up as its customer reads it, all in its language: the
    plan's words under exactly one greeting (the plan's own, when it opens
    with one, as plans written before the email added one do), signed by
    the ticket's agent, with the five one-click ratings and the way out.
    Reads the ticket, its customer and its assignee (select_related them)."""
    ticket = followup.ticket
    customer = followup.customer
    agent_name = staff_name(ticket.assignee)
    with translation.override(followup.language):
        title = " ".join(render_template(followup.subject_template, context).split())
        body = render_template(followup.body_template, context)
        tag = language_tag(followup.language)
        parts = {
            "lang": tag,
            "title": title,
            "greeting": greeting_for(body, customer.name),
            "body": body,
            "question": gettext("How are we doing?"),
            "ratings": [
                {"rating": rating, "url": url, "label": str(RATING_LABELS[rating])}
                for rating, url in links.ratings
            ],
            "signature": agent_name,
            "footer": gettext("Reference %(reference)s. Reply to this email to reach us.")
            % {"reference": ticket.reference},
            "unsubscribe": {"url": links.unsubscribe, "label": gettext("Stop these follow-ups")},
        }
        return FollowUpEmail(
            # The reference at the end, as on the step emails: what the
            # customer sees first is what the mail is about.
            subject=f"{title} [{ticket.reference}]",
            text=render_to_string("emails/followup.txt", parts).strip() + "\n",
            html=render_to_string("emails/followup.html", parts),
            language=tag,
            from_email=from_address(agent_name),
        )


def build_followup_email(followup: FollowUp, context: dict[str, Any]) -> EmailMultiAlternatives:
    """The follow-up's email, from its ``email_contexts`` entry: no query."""
    links = links_for(followup)
    letter = compose_followup_email(followup, context, links)
    email = EmailMultiAlternatives(
        subject=letter.subject,
        body=letter.text,
        from_email=letter.from_email,
        to=[formataddr((followup.customer.name, followup.customer.email))],
        headers={
            "Message-ID": followup.message_id,
            "X-Helpdesk-Ticket": followup.ticket.reference,
            "Content-Language": letter.language,
            # RFC 8058: one-click unsubscribe, by POST, with an https URL in production.
            "List-Unsubscribe": f"<{links.unsubscribe}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )
    email.attach_alternative(letter.html, "text/html")
    return email


# --- What customers do with the links ---------------------------------------------------

FEEDBACK_COMMENT_LIMIT = 5_000
# The cancel_reason of what an unsubscribe cancelled: how an undo finds them.
UNSUBSCRIBED = "The customer unsubscribed."


class LinkInvalid(Exception):
    """Tampered with, or not ours."""


class LinkExpired(Exception):
    pass


def _link_payload(token: str, *, salt: str) -> dict[str, Any]:
    try:
        data = signing.loads(token, salt=salt, max_age=settings.HELPDESK_FOLLOWUP_LINK_MAX_AGE)
    except signing.SignatureExpired:
        raise LinkExpired from None
    except signing.BadSignature:
        raise LinkInvalid from None
    # A valid signature proves we made the token, not that it has today's
    # shape: a payload from another version (or another signer use) is refused.
    if not isinstance(data, dict):
        raise LinkInvalid
    return data


def _whole_number(value: object, *, low: int, high: int) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _linked_followup(data: dict[str, Any]) -> FollowUp:
    pk = data.get("f")
    if not _whole_number(pk, low=1, high=2**63 - 1):
        raise LinkInvalid
    followup = FollowUp.objects.select_related("ticket", "customer").filter(pk=pk).first()
    if followup is None:
        raise LinkInvalid
    return followup


def followup_from_link(token: str, *, salt: str) -> FollowUp:
    return _linked_followup(_link_payload(token, salt=salt))


@dataclass(frozen=True)
class FeedbackLink:
    followup: FollowUp
    # The rating a one-click link records; None for the chooser link.
    rating: int | None


def feedback_from_link(token: str) -> FeedbackLink:
    """A feedback link: {"f": pk, "r": rating} from ``links_for``'s ratings,
    or {"f": pk}, the chooser, as every email sent before them carries."""
    data = _link_payload(token, salt=FEEDBACK_SALT)
    if not set(data) <= {"f", "r"}:
        raise LinkInvalid
    rating = data.get("r")
    if rating is not None and not _whole_number(rating, low=1, high=5):
        raise LinkInvalid
    return FeedbackLink(_linked_followup(data), rating)


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
        alert_raise(ticket=ticket, kind=Alert.Kind.LOW_RATING, detail=news)
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
    FollowUpOptOut.objects.get_or_create(customer=customer, defaults={"via_followup": followup})
    cancelled = 0
    for ticket in tickets:
        count = _cancel(FollowUp.objects.filter(ticket=ticket), UNSUBSCRIBED)
        if count:
            record_event(
                ticket=ticket,
                actor=None,
                action="customer_unsubscribed",
                payload={"cancelled": count},
            )
        cancelled += count
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
    now = timezone.now()
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
        restored += count
    return restored


# --- The end of the rebuilding period ------------------------------------------------------


def tickets_restore_finished(*, now: datetime | None = None) -> int:
    """Restore rebuilding tickets whose plan is done, the last follow-up sent
    more than the grace period ago, with no low rating since resolution."""
    from tickets.services import ticket_restore

    now = now or timezone.now()
    cutoff = now - settings.HELPDESK_RESTORE_GRACE
    candidates = (
        Ticket.objects.filter(status=Status.REBUILDING, followups__isnull=False)
        .exclude(followups__status__in=[FollowUp.Status.SCHEDULED, FollowUp.Status.QUEUED])
        .exclude(followups__sent_at__gt=cutoff)
        .distinct()
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    restored = 0
    for ticket_id in candidates:
        ticket = Ticket.objects.get(pk=ticket_id)
        low = Feedback.objects.filter(
            ticket=ticket, rating__lte=LOW_RATING, created_at__gte=ticket.resolved_at or now
        ).exists()
        if low:
            continue
        sent = ticket.followups.filter(status=FollowUp.Status.SENT).count()
        not_sent = ticket.followups.exclude(status=FollowUp.Status.SENT).count()
        reason = f"The follow-up plan finished ({sent} sent"
        reason += f", {not_sent} not sent)" if not_sent else ")"
        reason += " with no low rating."
        try:
            ticket_restore(ticket=ticket, actor=None, reason=reason)
        except DomainError as exc:  # reopened meanwhile, say
            logger.info("Ticket %s not restored: %s", ticket_id, exc)
            continue
        restored += 1
    return restored


# Tags that reach outside the template's context (files, other templates, the
# whole context dump): a follow-up is written to a customer.
_FORBIDDEN_TAGS = re.compile(r"{%-?\s*(load|debug|include|extends|ssi)\b")


def validate_template(source: str, *, field: str) -> str:
    forbidden = _FORBIDDEN_TAGS.search(source)
    if forbidden:
        raise RuleViolation(
            f"The {forbidden.group(1)} tag is not allowed in a follow-up.", field=field
        )
    try:
        Template(source)
    except TemplateSyntaxError as exc:
        raise RuleViolation(f"The template has an error: {exc}", field=field) from None
    return source
