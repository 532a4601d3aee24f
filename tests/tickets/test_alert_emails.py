"""The emails staff get about a ticket (tickets.services.alerts): a plain
sentence of what happened and what to do, then a link to the console page
where they act: the approvals page for a request, else the ticket's page."""

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.core.mail import EmailMessage
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from recovery.services import approval_decide, authority_policy_set, restitution_grant
from recovery.services.followup_delivery import SOURCE as FOLLOWUPS
from recovery.services.followup_responses import feedback_record
from recovery.services.followups import followups_claim_due
from tests.delivery import deliver_item, make_due
from tests.factories import TicketFactory, advance
from tests.smtp import SmtpSink
from tickets.models import Alert, Kind, Ticket
from tickets.services import alert_raise, timeliness_check
from tickets.services.alerts import SOURCE as ALERTS

pytestmark = pytest.mark.django_db

DESK = "https://desk.example.com"


@pytest.fixture(autouse=True)
def _desk_address(settings: Any) -> None:
    settings.HELPDESK_PUBLIC_URL = DESK


def emailed(kind: str) -> EmailMessage:
    """The one email of the one alert of ``kind``."""
    alert = Alert.objects.get(kind=kind)
    mail.outbox.clear()
    assert deliver_item(ALERTS, alert.pk).sent
    [sent] = mail.outbox
    return sent


def ticket_url(ticket: Ticket) -> str:
    return DESK + reverse("console:tickets_ticket_change", args=[ticket.pk])


def mishap(agent: User) -> Ticket:
    return advance(TicketFactory(actor=agent, kind=Kind.MISHAP), to="committed")


def test_an_approval_request_links_to_the_approvals_page_and_names_the_limits_in_words(
    agent: User, supervisor: User
) -> None:
    ticket = mishap(agent)
    # The agent's defaults: 50.00 per incident, 100.00 per customer and 200.00 per week.
    restitution_grant(
        ticket=ticket,
        actor=agent,
        kind="refund",
        amount="120.00",
        currency="USD",
        reason="The whole order back.",
    )

    sent = emailed(Alert.Kind.APPROVAL_REQUESTED)

    assert sent.to == [supervisor.email]
    assert sent.subject == f"[{ticket.reference}] Restitution awaiting approval"
    assert "a refund of 120.00 USD to" in sent.body
    assert (
        "above their limit per incident (50.00 USD) and their limit per customer per week "
        "(100.00 USD). Reason: The whole order back." in " ".join(sent.body.split())
    )
    assert "Approve or reject it on the approvals page:\n" in sent.body
    assert f"{DESK}{reverse('console:approvals')}\n" in sent.body
    assert "_limit" not in sent.body


def test_a_request_above_the_per_period_limit_names_the_period(
    agent: User, supervisor: User, admin_staff: User
) -> None:
    authority_policy_set(
        user=agent,
        actor=admin_staff,
        values={
            "per_incident_limit": "500.00",
            "per_period_limit": "40.00",
            "period": "month",
            "per_customer_limit": "500.00",
            "allowed_kinds": ["gift"],
            "currency": "EUR",
        },
    )
    restitution_grant(
        ticket=mishap(agent), actor=agent, kind="gift", amount="45.00", currency="EUR", reason="A"
    )

    sent = emailed(Alert.Kind.APPROVAL_REQUESTED)

    assert "above their limit per month (40.00 EUR)." in sent.body


def test_the_decision_links_the_agent_to_the_ticket(agent: User, supervisor: User) -> None:
    ticket = mishap(agent)
    pending = restitution_grant(
        ticket=ticket, actor=agent, kind="refund", amount="60.00", currency="USD", reason="Late."
    )
    approval_decide(approval=pending.approval, actor=supervisor, approve=False, reason="Too much.")

    sent = emailed(Alert.Kind.APPROVAL_DECIDED)

    assert sent.to == [agent.email]
    assert sent.subject == f"[{ticket.reference}] Approval decided"
    assert "Your refund of 60.00 USD for" in sent.body
    assert "was rejected: Too much." in sent.body
    assert f"Open the ticket:\n{ticket_url(ticket)}\n" in sent.body


def test_a_low_rating_links_to_the_ticket(agent: User, supervisor: User) -> None:
    ticket = advance(TicketFactory(actor=agent, kind=Kind.MISHAP), to="rebuilding")
    followup = ticket.followups.order_by("step_number").first()
    assert followup is not None

    feedback_record(followup=followup, rating=2, comment="Still broken.")

    sent = emailed(Alert.Kind.LOW_RATING)
    assert sorted(sent.to) == sorted([agent.email, supervisor.email])
    assert sent.subject == f"[{ticket.reference}] Low rating after recovery"
    assert "rated us 2 out of 5 after follow-up 1: “Still broken.”" in sent.body
    assert "please get in touch" in sent.body
    assert f"Open the ticket:\n{ticket_url(ticket)}\n" in sent.body
    assert reverse("console:approvals") not in sent.body


def test_a_missed_target_says_what_to_do_and_links_to_the_ticket(agent: User) -> None:
    ticket = TicketFactory(actor=agent, kind=Kind.MISHAP)
    with time_machine.travel(timezone.now() + timedelta(hours=4, minutes=1)):
        timeliness_check()
        sent = emailed(Alert.Kind.ACKNOWLEDGE_BREACH)

    assert sent.to == [agent.email]
    assert "was due to be acknowledged within 4 hours and still is not." in sent.body
    assert "Acknowledge it now." in sent.body
    assert f"Open the ticket:\n{ticket_url(ticket)}\n" in sent.body
    assert sent.body.endswith(f"-- \n{ticket.reference}: {ticket.subject}\n")


def test_a_repeat_failure_links_the_supervisors_to_the_new_ticket(
    agent: User, supervisor: User
) -> None:
    first = advance(TicketFactory(actor=agent, kind=Kind.MISHAP), to="rebuilding")
    second = TicketFactory(
        actor=agent, kind=Kind.MISHAP, customer_email=first.customer.email, customer_name="Ana"
    )

    sent = emailed(Alert.Kind.REPEAT_FAILURE)

    assert sent.to == [supervisor.email]
    assert first.reference in sent.body
    assert f"Open the ticket:\n{ticket_url(second)}\n" in sent.body


@pytest.mark.parametrize("kind", sorted(set(Alert.Kind.values) - {Alert.Kind.APPROVAL_REQUESTED}))
def test_every_other_kind_links_to_the_ticket(kind: str, agent: User) -> None:
    ticket = TicketFactory(actor=agent)
    with transaction.atomic():
        alert_raise(ticket=ticket, kind=kind, detail="Something happened.", recipients=[agent])

    sent = emailed(kind)

    assert sent.subject == f"[{ticket.reference}] {Alert.Kind(kind).label}"
    assert sent.body.startswith("Something happened.\n\nOpen the ticket:\n")
    assert ticket_url(ticket) in sent.body
    assert "approvals" not in sent.body


def test_a_failed_follow_up_says_what_to_do(agent: User, smtp_sink: SmtpSink) -> None:
    ticket = advance(TicketFactory(actor=agent, kind=Kind.MISHAP), to="rebuilding")
    ticket.followups.update(due_at=timezone.now() - timedelta(minutes=1))
    [followup_id, *_] = followups_claim_due()
    # The customer's server refuses the address for good: failed at the first try.
    smtp_sink.handler.refuse_next = 1
    assert list(deliver_item(FOLLOWUPS, followup_id).failed)

    alert = Alert.objects.get(kind=Alert.Kind.FOLLOWUP_FAILED)
    assert deliver_item(ALERTS, alert.pk).sent

    [sent] = smtp_sink.received
    assert sent["To"] == agent.email
    text = sent.get_content().replace("\r\n", "\n")
    assert "could not be sent after 1 try (" in text
    assert "554" in text
    assert "Check their email address, or write to them yourself." in text
    assert f"Open the ticket:\n{ticket_url(ticket)}\n" in text


@pytest.mark.usefixtures("no_smtp_server")
def test_a_follow_up_that_could_not_be_sent_for_days_says_how_many_tries(
    agent: User, settings: Any
) -> None:
    settings.HELPDESK_OUTBOX_RETRY_FOR = timedelta(hours=48)
    ticket = advance(TicketFactory(actor=agent, kind=Kind.MISHAP), to="rebuilding")
    ticket.followups.update(due_at=timezone.now() - timedelta(minutes=1))
    [followup_id, *_] = followups_claim_due()
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        assert list(deliver_item(FOLLOWUPS, followup_id).retrying)
        traveller.shift(timedelta(hours=48))
        make_due()
        assert list(deliver_item(FOLLOWUPS, followup_id).failed)
        settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"  # back up
        sent = emailed(Alert.Kind.FOLLOWUP_FAILED)

    assert "could not be sent after 2 tries (Gave up after 2 attempts since " in sent.body
    assert "ConnectionRefusedError" in sent.body


def test_a_staff_email_is_in_english_whatever_the_customers_language(agent: User) -> None:
    ticket = TicketFactory(actor=agent)
    customer = ticket.customer
    customer.locale = "de"
    customer.save(update_fields=["locale"])
    with transaction.atomic():
        alert_raise(ticket=ticket, kind=Alert.Kind.LOW_RATING, detail="Rated 1.")

    sent = emailed(Alert.Kind.LOW_RATING)

    assert "Low rating after recovery" in sent.subject
    assert "Open the ticket:" in sent.body


def test_an_alert_nobody_can_be_emailed_is_marked_not_sent(agent: User) -> None:
    """Its outbox row is dropped, and the alert says why: it stays in the
    console, and does not wait for a send that will never come."""
    ticket = mishap(agent)
    User.objects.filter(pk=agent.pk).update(email="")
    with transaction.atomic():
        alert = alert_raise(
            ticket=ticket, kind=Alert.Kind.REPEAT_FAILURE, detail="Again.", recipients=[agent]
        )

    deliver_item(ALERTS, alert.pk)

    alert.refresh_from_db()
    assert alert.sent_at is None
    assert alert.failed_at is not None
    assert alert.last_error == (
        "None of its recipients has an email address or wants this kind by email."
    )
    assert emailed_count(Alert.Kind.REPEAT_FAILURE) == 0


def emailed_count(kind: str) -> int:
    label = str(Alert.Kind(kind).label)
    return sum(label in m.subject for m in mail.outbox)
