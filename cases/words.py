"""The case page in the customer's words: where it stands, what we promised
and whether we kept it, what we granted, when we will check in. Called inside
``core.languages.speaking``: every sentence in the customer's language, every
moment in their zone, every amount as they write money."""

from dataclasses import dataclass

from babel.numbers import format_currency
from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext, ngettext, pgettext

from cases.selectors import Case, promise_state
from core.dates import customer_date, customer_datetime, customer_moment, zone_name
from core.languages import babel_locale, current_language
from recovery.services.followup_emails import restitution_in_words
from tickets.emails import desk_name, staff_name
from tickets.models import Commitment, Kind, Message, Status


@dataclass(frozen=True)
class Promise:
    text: str
    due: str  # "Tuesday, December 8, 2026, 5:00 PM, Brazil (São Paulo) Time"
    state: str  # see cases.selectors.promise_state
    outcome: str  # a sentence, empty while it is not yet due


def status_in_words(case: Case) -> str:
    ticket = case.ticket
    zone = ticket.customer.zone
    mishap = ticket.kind == Kind.MISHAP
    status = ticket.status
    if status == Status.NEW:
        return gettext("We have your message and will answer soon.")
    if status == Status.ACKNOWLEDGED:
        if mishap:
            return gettext("We know what went wrong and are working on it.")
        return gettext("We are looking into your question.")
    if status == Status.APOLOGIZED:
        return gettext("We have apologized and are working on it.")
    if status == Status.COMMITTED and case.promise is not None:
        return gettext("We have promised to put it right by %(when)s.") % {
            "when": _when(case.promise, zone)
        }
    if status in (Status.RESOLVED, Status.REBUILDING) and mishap:
        if case.next_followup is not None:
            return gettext("Put right; we will check in on %(day)s.") % {
                "day": customer_date(case.next_followup.due_at, zone)
            }
        return gettext("Put right.")
    if status == Status.RESOLVED:
        return gettext("Answered. If anything is still unclear, write to us below.")
    if status == Status.RESTORED:
        return gettext("Put right, and all is well again. Thank you for staying with us.")
    return gettext("Closed. If you need us again, write to us below.")


def _when(commitment: Commitment, zone: object) -> str:
    return f"{customer_datetime(commitment.due_at, zone)}, {zone_name(zone)}"  # type: ignore[arg-type]


def promises(case: Case) -> list[Promise]:
    """Newest first: after a reopen, the promise now and the earlier ones."""
    zone = case.ticket.customer.zone
    told = []
    for commitment in case.commitments:
        state = promise_state(commitment)
        if state == "kept":
            outcome = gettext("Kept on %(day)s, on time.") % {
                "day": customer_date(commitment.fulfilled_at, zone)  # type: ignore[arg-type]
            }
        elif state == "late":
            outcome = gettext("Kept on %(day)s, later than we promised. We are sorry.") % {
                "day": customer_date(commitment.fulfilled_at, zone)  # type: ignore[arg-type]
            }
        elif state == "missed":
            outcome = gettext("Not kept yet: it was due then. We are sorry, and we are on it.")
        else:
            outcome = ""
        told.append(Promise(commitment.promise, _when(commitment, zone), state, outcome))
    return told


def granted_in_words(case: Case) -> list[str]:
    locale = babel_locale(current_language())
    return [
        restitution_in_words(r.kind, format_currency(r.amount, r.currency, locale=locale))
        for r in case.granted
    ]


def conversation(case: Case) -> list[tuple[str, str, Message]]:
    """Each public message with its author's name and its moment in the customer's zone."""
    zone = case.ticket.customer.zone
    return [(author_of(m), customer_moment(m.created_at, zone), m) for m in case.messages]


def author_of(message: Message) -> str:
    if message.author_kind == Message.Author.CUSTOMER:
        return pgettext("the customer, on their case page", "You")
    return staff_name(message.author) or desk_name()


def next_check_in(case: Case) -> str:
    """The day of the next follow-up, as the customer lives it; '' when none."""
    if case.next_followup is None:
        return ""
    return customer_date(case.next_followup.due_at, case.ticket.customer.zone)


def fixes_done(case: Case) -> list[tuple[str, str]]:
    """What we changed so it cannot happen again, with the day it was done."""
    zone = case.ticket.customer.zone
    return [(fix.failsafe_change, customer_date(fix.done_at, zone)) for fix in case.fixes_done]  # type: ignore[arg-type]


def attachment_limits() -> str:
    count, size = settings.HELPDESK_MAX_ATTACHMENTS, settings.HELPDESK_MAX_ATTACHMENT_BYTES
    return ngettext(
        "Up to %(count)d file of at most %(size)s.",
        "Up to %(count)d files, each at most %(size)s.",
        count,
    ) % {"count": count, "size": filesizeformat(size)}
