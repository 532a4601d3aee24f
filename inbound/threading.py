"""Which ticket an email belongs to: by a stored Message-ID it answers (those
are unguessable), then by the reference in our Message-IDs or in its subject
(only for the ticket's own customer: references are guessable), else none."""

from django.conf import settings
from django.db.models import F

from tickets.models import Ticket
from tickets.models.ticket import ticket_id_from_reference


def our_domain_ids(ids: list[str]) -> list[str]:
    # For threading only, so that IDs issued before they were signed still
    # thread; whether a message is ours is tickets.message_ids.is_our_message_id.
    suffix = f"@{settings.HELPDESK_EMAIL_DOMAIN}>".lower()
    return [i for i in ids if i.lower().endswith(suffix)]


def find_ticket(*, answers: list[str], subject: str, sender: str) -> Ticket | None:
    """``answers``: In-Reply-To first, then References from the newest back."""
    if answers:
        # The tickets with the message each answered, in one query.
        stored = {
            ticket.answered: ticket
            for ticket in Ticket.objects.filter(messages__email_message_id__in=answers).annotate(
                answered=F("messages__email_message_id")
            )
        }
        for message_id in answers:
            if message_id in stored:
                return stored[message_id]
        # Our own Message-IDs carry the ticket's reference, including those of
        # follow-ups, which are not stored as messages. Those of follow-ups are
        # guessable, so like a subject they thread only the ticket's customer.
        for message_id in our_domain_ids(answers):
            ticket = _by_reference(message_id)
            if ticket is not None and _is_customer(ticket, sender):
                return ticket
    # A reference typed in the subject only threads the ticket's own customer:
    # references are guessable, and a stranger must not write into a ticket.
    # Anywhere in the subject: "[EXTERNAL] Re: [HD-000123] ..." too.
    ticket = _by_reference(subject)
    if ticket is not None and _is_customer(ticket, sender):
        return ticket
    return None


def _is_customer(ticket: Ticket, sender: str) -> bool:
    return ticket.customer.email.lower() == sender.lower()


def _by_reference(text: str) -> Ticket | None:
    pk = ticket_id_from_reference(text)
    if pk is None:
        return None
    return Ticket.objects.select_related("customer").filter(pk=pk).first()
