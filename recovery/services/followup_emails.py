"""What a follow-up email says: the context its plan's templates read (only
what is true as it goes out), the templates rendered in the customer's
language, and the email itself, with its one-click ratings and way out."""

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from babel.lists import format_list
from babel.numbers import format_currency
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext, gettext_lazy

from core.addresses import mailbox
from core.dates import customer_date, customer_datetime, zone_name
from core.languages import babel_locale, language_tag
from core.mail import CustomerMail
from recovery.followup_templates import render_template
from recovery.models import FollowUp, ProcessFix, Restitution, RestitutionKind
from recovery.selectors.followup_links import Links, links_for
from tickets.case_links import case_link_line
from tickets.emails import CustomerEmail, desk_name, from_address, staff_name
from tickets.models import Commitment
from tickets.voice import greeting_for


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


def restitution_in_words(kind: str, money: str) -> str:
    """ "a refund of 25,00 US$", in the language active now; ``money`` as the reader writes it."""
    return str(_DESCRIBED[RestitutionKind(kind)]) % {"money": money}


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
                    "described": restitution_in_words(r.kind, money),
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


# The one-click answers under every follow-up, best first.
RATING_LABELS = {
    5: gettext_lazy("Very well"),
    4: gettext_lazy("Well"),
    3: gettext_lazy("Neither well nor badly"),
    2: gettext_lazy("Badly"),
    1: gettext_lazy("Very badly"),
}


def compose_followup_email(
    followup: FollowUp, context: dict[str, Any], links: Links
) -> CustomerEmail:
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
            # Someone always signs: the texts speak as a person ("I read every
            # answer"), and a ticket nobody was assigned still had a desk.
            "signature": agent_name or desk_name(),
            "case": case_link_line(ticket),
            "footer": gettext("Reference %(reference)s. Reply to this email to reach us.")
            % {"reference": ticket.reference},
            "unsubscribe": {"url": links.unsubscribe, "label": gettext("Stop these follow-ups")},
        }
        return CustomerEmail(
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
    email = CustomerMail(
        subject=letter.subject,
        body=letter.text,
        from_email=letter.from_email,
        to=[mailbox(followup.customer.name, followup.customer.email)],
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
