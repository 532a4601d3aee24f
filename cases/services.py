"""Every change the customer's side makes: a reply from the case page, a
visit recorded, a fresh link asked for, a ticket opened from the contact
form. Each atomic; emails leave through the outbox once it commits."""

from collections.abc import Sequence
from datetime import timedelta
from email.utils import make_msgid

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import F, QuerySet

from accounts.models import Customer
from accounts.selectors import customers_with_email
from cases.delivery import case_email_queue
from cases.models import CaseEmail, CaseVisit
from core import clock
from tickets.message_ids import our_message_id
from tickets.models import Channel, Ticket
from tickets.selectors import queue_named_by
from tickets.services.customer_writes import Written, customer_writes
from tickets.services.events import record_event
from tickets.services.messages import clean_body
from tickets.services.tickets import ticket_create

# A fresh link is emailed at most once in this long for a ticket (or an
# address): asking again, or someone else asking, adds nothing to the inbox.
RESEND_PAUSE = timedelta(minutes=10)


@transaction.atomic
def case_reply(*, ticket: Ticket, body: str, attachments: Sequence[UploadedFile] = ()) -> Written:
    """The customer writes from their case page: the same rule as their
    email (``customer_writes``), so a resolved or rebuilding ticket reopens
    and whoever answers it is told."""
    customer = ticket.customer
    return customer_writes(
        ticket=ticket,
        body=clean_body(body),
        subject=ticket.subject,
        customer_email=customer.email,
        customer_name=customer.name,
        channel=Channel.WEB,
        queue=ticket.queue,
        attachments=attachments,
        via="case_page",
    )


def case_visit_record(*, ticket: Ticket) -> None:
    """The customer opened their page: staff see when they last did."""
    now = clock.now()
    updated = CaseVisit.objects.filter(ticket=ticket).update(
        last_opened_at=now, times=F("times") + 1
    )
    if not updated:
        try:
            with transaction.atomic():
                CaseVisit.objects.create(ticket=ticket, first_opened_at=now, last_opened_at=now)
        except IntegrityError:  # the same page, opened twice at once
            CaseVisit.objects.filter(ticket=ticket).update(last_opened_at=now, times=F("times") + 1)


@transaction.atomic
def case_link_resend(*, ticket: Ticket) -> bool:
    """Email a fresh link to the case to the address on file (the link the
    customer has expired). False when one went out moments ago."""
    customer = Customer.objects.select_for_update().get(pk=ticket.customer_id)
    if _sent_lately(CaseEmail.objects.filter(ticket=ticket, kind=CaseEmail.Kind.FRESH_LINK)):
        return False
    email = CaseEmail.objects.create(
        kind=CaseEmail.Kind.FRESH_LINK,
        customer=customer,
        ticket=ticket,
        message_id=our_message_id(reference=ticket.reference),
    )
    case_email_queue(email)
    record_event(ticket=ticket, actor=None, action="case_link_sent", payload={"email": email.pk})
    return True


@transaction.atomic
def case_links_request(*, address: str) -> bool:
    """Someone whose link was cut or changed asks for their cases' links:
    emailed to ``address`` if a customer with tickets has it. The caller
    answers the same either way, so nobody learns whether it is known."""
    customer = customers_with_email(address).select_for_update().first()
    if customer is None or not Ticket.objects.filter(customer=customer).exists():
        return False
    if _sent_lately(CaseEmail.objects.filter(customer=customer, kind=CaseEmail.Kind.LINKS)):
        return False
    email = CaseEmail.objects.create(
        kind=CaseEmail.Kind.LINKS,
        customer=customer,
        message_id=make_msgid(domain=settings.HELPDESK_EMAIL_DOMAIN),
    )
    case_email_queue(email)
    return True


def _sent_lately(emails: QuerySet[CaseEmail]) -> bool:
    since = clock.now() - RESEND_PAUSE
    return emails.filter(created_at__gte=since).exists()


@transaction.atomic
def contact_submit(
    *,
    name: str,
    email: str,
    subject: str,
    body: str,
    attachments: Sequence[UploadedFile] = (),
    locale: str | None = None,
    time_zone: str | None = None,
) -> Ticket:
    """Someone with no ticket yet writes from /contact/: a ticket opened by the
    same service as an email, in the contact queue, and a confirmation with
    their case link."""
    ticket, _ = ticket_create(
        actor=None,
        subject=subject,
        body=body,
        customer_email=email,
        customer_name=name,
        channel=Channel.WEB,
        queue=queue_named_by(settings.HELPDESK_CONTACT_QUEUE),
        attachments=attachments,
        customer_locale=locale,
        customer_time_zone=time_zone,
    )
    confirmation = CaseEmail.objects.create(
        kind=CaseEmail.Kind.CONFIRMATION,
        customer=ticket.customer,
        ticket=ticket,
        message_id=our_message_id(reference=ticket.reference),
    )
    case_email_queue(confirmation)
    return ticket
