"""The emails about the case page: the contact form's confirmation, a fresh
link, the links to an address's cases. In the customer's language, signed
by the desk (no person has written yet), each carrying the case links."""

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils.translation import gettext, ngettext

from cases.models import CaseEmail
from core.addresses import mailbox
from core.languages import language_tag, speaking
from core.mail import CustomerMail
from tickets.case_links import case_url
from tickets.emails import desk_name
from tickets.models import Ticket
from tickets.voice import greeting_for

# The links email names an address's newest cases, at most this many.
LINKED_CASES = 10


def build_case_email(email: CaseEmail, tickets: list[Ticket]) -> EmailMultiAlternatives:
    """``tickets``: the case's ticket, or for the links email the address's newest cases."""
    customer = email.customer
    with speaking(customer.locale) as language:
        days = settings.HELPDESK_CASE_LINK_MAX_AGE.days
        lasts = ngettext(
            "The link works for %(days)d day.", "The link works for %(days)d days.", days
        ) % {"days": days}
        links = [{"label": f"{t.reference}: {t.subject}", "url": case_url(t)} for t in tickets]
        if email.kind == CaseEmail.Kind.CONFIRMATION:
            ticket = tickets[0]
            subject = gettext("We have your message: %(subject)s") % {"subject": ticket.subject}
            paragraphs = [
                gettext(
                    "Thank you for writing to us. A person will read your message and "
                    "answer soon. Your reference is %(reference)s."
                )
                % {"reference": ticket.reference},
                gettext(
                    "On your case page you can see where things stand, read everything "
                    "we write and answer us:"
                ),
            ]
        elif email.kind == CaseEmail.Kind.FRESH_LINK:
            ticket = tickets[0]
            subject = gettext("A fresh link to your case: %(subject)s") % {
                "subject": ticket.subject
            }
            paragraphs = [
                gettext("You asked for a fresh link to your case. Here it is:") + " " + lasts
            ]
        else:
            subject = gettext("Links to your cases")
            paragraphs = [
                gettext(
                    "Someone asked for links to the cases we have for this address. Here they are:"
                )
                + " "
                + lasts,
            ]
        footer = gettext(
            "If you did not ask for this, you can ignore this email; nothing has changed."
        )
        if email.kind == CaseEmail.Kind.CONFIRMATION:
            footer = gettext("Reply to this email to write to us. Reference %(reference)s.") % {
                "reference": tickets[0].reference
            }
        parts = {
            "lang": language_tag(language),
            "title": subject,
            "greeting": greeting_for("", customer.name),
            "paragraphs": paragraphs,
            "links": links,
            "signature": desk_name(),
            "footer": footer,
        }
        text = render_to_string("emails/case_email.txt", parts).strip() + "\n"
        html = render_to_string("emails/case_email.html", parts)
    reference = f" [{tickets[0].reference}]" if email.ticket_id else ""
    headers = {"Message-ID": email.message_id, "Content-Language": language_tag(language)}
    if email.ticket_id:
        headers["X-Helpdesk-Ticket"] = tickets[0].reference
    message = CustomerMail(
        subject=f"{subject}{reference}",
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[mailbox(customer.name, customer.email)],
        headers=headers,
    )
    message.attach_alternative(html, "text/html")
    return message
