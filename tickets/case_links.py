"""The signed link to a customer's case page: minted for every customer
email, bound to the ticket and its customer, valid for
HELPDESK_CASE_LINK_MAX_AGE. The link is the credential: no account, no
password, so it says nothing it does not have to (two ids) and a link that
was cut, changed or made for another customer opens nothing."""

from typing import Any

from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils.translation import gettext

from tickets.models import Ticket

CASE_SALT = "cases.case"


class LinkInvalid(Exception):
    """Cut, changed, or not ours: nothing can be learnt from it."""


class LinkExpired(Exception):
    """Ours, but older than the setting allows. Its ticket is known (the
    signature is good), so a fresh link can go to the address on file."""

    def __init__(self, ticket: Ticket) -> None:
        super().__init__(ticket.reference)
        self.ticket = ticket


def case_token(ticket: Ticket) -> str:
    return signing.dumps({"t": ticket.pk, "c": ticket.customer_id}, salt=CASE_SALT)


def case_url(ticket: Ticket) -> str:
    """The case page's whole address, for an email or for staff to copy."""
    path = reverse("case", kwargs={"token": case_token(ticket)})
    return f"{settings.HELPDESK_PUBLIC_URL}{path}"


def case_from_link(token: str) -> Ticket:
    """The ticket a link opens, with its customer. Raises LinkInvalid or LinkExpired."""
    max_age = settings.HELPDESK_CASE_LINK_MAX_AGE
    try:
        data = signing.loads(token, salt=CASE_SALT, max_age=max_age)
    except signing.SignatureExpired:
        # The signature is good, only old: read it again without the age.
        raise LinkExpired(_ticket(signing.loads(token, salt=CASE_SALT))) from None
    except signing.BadSignature:
        raise LinkInvalid from None
    return _ticket(data)


def _ticket(data: Any) -> Ticket:
    # A good signature proves we made it, not that it has today's shape.
    if not isinstance(data, dict) or set(data) != {"t", "c"}:
        raise LinkInvalid
    ticket_id, customer_id = data["t"], data["c"]
    if not all(_id(value) for value in (ticket_id, customer_id)):
        raise LinkInvalid
    ticket = (
        Ticket.objects.select_related("customer", "assignee")
        .filter(pk=ticket_id, customer_id=customer_id)
        .first()
    )
    if ticket is None:  # gone, or the ticket now belongs to someone else
        raise LinkInvalid
    return ticket


def _id(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**63


def case_link_line(ticket: Ticket) -> dict[str, str]:
    """The line every customer email carries: where to see the case. In the
    language active now."""
    return {
        "url": case_url(ticket),
        "label": gettext("See where your case stands, and answer us"),
    }
