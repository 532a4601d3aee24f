"""What a follow-up tells the customer (issue 14): in their language where we
have it, with an honest lang; in a person's voice, one greeting and the
agent's name; and only what is true as it goes out."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from importlib import import_module
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation

from accounts.models import User
from outbox.dispatch import outbox_dispatch
from recovery.followup_defaults import DEFAULT_STEPS, QUESTION_STEPS
from recovery.models import FollowUp, FollowUpPlan
from recovery.selectors.followup_links import links_for
from recovery.services import (
    PlanStep,
    followup_plan_set,
    process_fix_create,
    process_fix_set_status,
    restitution_grant,
    restitution_void,
)
from recovery.services.followup_delivery import SOURCE
from recovery.services.followup_emails import email_contexts
from recovery.services.followups import followups_claim_due
from tests.delivery import deliver_outbox, item_for
from tests.factories import TicketFactory, advance
from tests.helpers import assignee_of, html_of, not_none, sent_emails
from tickets.models import Commitment, Kind, Severity, Status, Ticket

pytestmark = pytest.mark.django_db

seeded = import_module("recovery.migrations.0004_default_followup_plans")
to_jinja = import_module("recovery.migrations.0012_followup_templates_jinja").jinja_text


def stored_plan(severity: str, steps: Any) -> None:
    """A plan saved before templates were checked against the context, as
    migration 0012 left it: the service would refuse it today."""
    plan, _ = FollowUpPlan.objects.get_or_create(severity=severity)
    plan.steps.all().delete()
    for day, subject, body in steps:
        plan.steps.create(
            offset_days=day, subject_template=to_jinja(subject), body_template=to_jinja(body)
        )


def resolved(
    *, locale: str = "en", kind: str = Kind.MISHAP, zone: str = "Europe/Berlin", **kwargs: Any
) -> Ticket:
    """A ticket resolved for a customer reading ``locale``: its follow-ups scheduled."""
    ticket = TicketFactory(kind=kind, **kwargs)
    type(ticket.customer).objects.filter(pk=ticket.customer_id).update(
        locale=locale, time_zone=zone
    )
    return advance(ticket, to=Status.REBUILDING if kind == Kind.MISHAP else Status.RESOLVED)


def send(ticket: Ticket) -> list[EmailMultiAlternatives]:
    """Every pending follow-up of ``ticket`` sent now, in plan order."""
    ids = list(
        ticket.followups.filter(status=FollowUp.Status.SCHEDULED)
        .order_by("due_at", "id")
        .values_list("pk", flat=True)
    )
    FollowUp.objects.filter(pk__in=ids).update(due_at=timezone.now() - timedelta(minutes=1))
    mail.outbox.clear()
    followups_claim_due()
    assert deliver_outbox(source=SOURCE).sent == [item_for(SOURCE, pk).pk for pk in ids]
    return sent_emails()


def bodies(email: EmailMultiAlternatives) -> list[str]:
    return [str(email.body), html_of(email)]


PT_STEP = PlanStep(
    1,
    "How are things?",
    "It has been a day. Done on {% for f in process_fixes %}{{ f.done_on }}{% endfor %}.",
    {
        "pt-br": {
            "subject": "Como estão as coisas?",
            "body": "Já faz um dia. Feito em {% for f in process_fixes %}{{ f.done_on }}"
            "{% endfor %}. {{ restitutions_listed }}",
        }
    },
)


# --- The customer's language ----------------------------------------------------------


def test_scheduling_takes_the_plan_text_in_the_customers_language(supervisor: User) -> None:
    followup_plan_set(severity=Severity.MINOR, actor=supervisor, steps=[PT_STEP])

    [followup] = resolved(locale="pt-BR").followups.all()

    assert followup.language == "pt-br"
    assert followup.subject_template == "Como estão as coisas?"
    assert followup.body_template.startswith("Já faz um dia.")


@pytest.mark.parametrize("locale", ["de", "en", "ja"])
def test_a_language_the_plan_is_not_written_in_gets_the_english_all_of_it(
    supervisor: User, locale: str
) -> None:
    followup_plan_set(severity=Severity.MINOR, actor=supervisor, steps=[PT_STEP])

    ticket = resolved(locale=locale)
    [followup] = ticket.followups.all()
    [email] = send(ticket)

    # English text, so English around it and an English lang: not German words
    # under a German greeting, nor an English text marked de.
    assert (followup.language, followup.subject_template) == ("en", "How are things?")
    assert email.extra_headers["Content-Language"] == "en"
    assert '<html lang="en">' in html_of(email)


def test_a_pt_br_customer_reads_the_default_plan_marked_pt_br() -> None:
    ticket = resolved(locale="pt-BR")

    followups = list(ticket.followups.order_by("due_at"))
    emails = send(ticket)

    # The words come from the catalogue (its translation may still be to
    # come); the row and the mail say which language they are in.
    assert {f.language for f in followups} == {"pt-br"}
    with translation.override("pt-br"):
        assert [f.subject_template for f in followups] == [str(s) for _, s, _ in DEFAULT_STEPS]
    for email in emails:
        assert email.extra_headers["Content-Language"] == "pt-BR"
        assert '<html lang="pt-BR">' in html_of(email)


def test_the_email_is_rendered_in_the_customers_language(supervisor: User) -> None:
    """Dates and money in the text are the customer's language's (Babel's,
    which needs no catalogue of ours): the whole email renders under it."""
    followup_plan_set(severity=Severity.MINOR, actor=supervisor, steps=[PT_STEP])
    ticket = resolved(locale="pt-BR")
    restitution_grant(
        ticket=ticket,
        actor=assignee_of(ticket),
        kind="refund",
        amount=Decimal("12.50"),
        currency="USD",
        reason="Charged twice.",
    )
    with time_machine.travel(datetime(2026, 12, 1, 12, 0, tzinfo=UTC), tick=False):
        fix_done(ticket)

    [email] = send(ticket)

    assert email.subject == f"Como estão as coisas? [{ticket.reference}]"
    for body in bodies(email):
        assert "Feito em 1 de dezembro de 2026." in body
        assert "US$\xa012,50" in body
    assert email.extra_headers["Content-Language"] == "pt-BR"


@pytest.mark.parametrize("locale", ["zz", "ja"])
def test_a_language_we_do_not_ship_reads_english_marked_en(locale: str) -> None:
    ticket = resolved(locale=locale)

    emails = send(ticket)

    assert set(ticket.followups.values_list("language", flat=True)) == {"en"}
    for email in emails:
        assert email.extra_headers["Content-Language"] == "en"
        assert '<html lang="en">' in html_of(email)


# --- A person's voice -------------------------------------------------------------------


def test_a_default_follow_up_has_one_greeting_and_is_signed_by_the_agent() -> None:
    ticket = resolved(customer_name="Lena Fischer", subject="Charged twice for one order")
    assignee = ticket.assignee
    assert assignee is not None
    User.objects.filter(pk=assignee.pk).update(first_name="Ana", last_name="Costa")

    emails = send(ticket)

    assert len(emails) == 3
    for email in emails:
        text = str(email.body)
        assert text.startswith("Hello Lena Fischer,\n\n")
        assert text.count("Lena Fischer") == 1
        assert "Dear" not in text
        assert "\nAna Costa\n" in text
        assert "<p>Ana Costa</p>" in html_of(email)
        assert email.from_email == '"Ana Costa (Helpdesk)" <help@localhost>'
        assert email.subject.endswith(f" [{ticket.reference}]")
        assert not email.subject.startswith("[")
        for body in bodies(email):
            # The ticket's subject is not pasted into a sentence.
            assert "Charged twice" not in body


def test_a_follow_up_on_a_ticket_nobody_holds_is_signed_by_the_desk() -> None:
    ticket = resolved(customer_name="Lena Fischer")
    Ticket.objects.filter(pk=ticket.pk).update(assignee=None)

    emails = send(Ticket.objects.get(pk=ticket.pk))

    for email in emails:
        assert "\nHelpdesk\n" in str(email.body)
        assert "<p>Helpdesk</p>" in html_of(email)
        assert email.from_email == "Helpdesk <help@localhost>"


def test_an_answered_questions_check_in_has_one_greeting_too() -> None:
    ticket = resolved(kind=Kind.QUESTION, customer_name="Lena Fischer")

    [email] = send(ticket)

    assert email.subject == f"{QUESTION_STEPS[0][1]} [{ticket.reference}]"
    assert str(email.body).startswith("Hello Lena Fischer,\n\nYesterday we answered")
    assert str(email.body).count("Hello") == 1


def test_a_plan_stored_with_its_own_dear_keeps_one_greeting(supervisor: User) -> None:
    """Follow-ups scheduled from the seeded plan (and plans saved from it)
    open with "Dear {{ customer.name }},": the email adds none."""
    stored_plan(Severity.MINOR, seeded.default_steps())
    ticket = resolved(customer_name="Lena Fischer")

    emails = send(ticket)

    for email in emails:
        text = str(email.body)
        assert text.startswith("Dear Lena Fischer,\n\n")
        assert "Hello" not in text
        assert text.count("Lena Fischer") == 1
        assert "<p>Dear Lena Fischer,</p>" in html_of(email)
        assert "Hello" not in html_of(email)


def test_our_part_never_reaches_the_customer(supervisor: User) -> None:
    """Our account of what went wrong is the staff's: not in the context, so
    not in the default plan, nor in a stored one that asks for it."""
    stored_plan(
        Severity.MINOR, [(1, "Day one", "[{{ ticket.our_part }}]"), *seeded.default_steps()[1:]]
    )
    ticket = resolved()
    assert ticket.our_part == "We sent the wrong item."
    default = resolved(severity=Severity.MAJOR)

    emails = send(ticket) + send(default)

    followups = FollowUp.objects.filter(ticket__in=[ticket, default])
    assert all("our_part" not in ctx["ticket"] for ctx in email_contexts(list(followups)).values())
    assert str(emails[0].body).startswith("Hello")
    assert "[]" in str(emails[0].body)
    for email in emails:
        for body in bodies(email):
            assert "We sent the wrong item." not in body
            assert "our doing" not in body


def test_the_feedback_part_is_five_one_click_ratings_in_both_bodies() -> None:
    ticket = resolved()
    followup = not_none(ticket.followups.order_by("due_at").first())

    # A frozen clock: signed links carry the second they were made in.
    with time_machine.travel(timezone.now(), tick=False):
        [email, *_] = send(ticket)
        links = links_for(followup)

    assert [rating for rating, _ in links.ratings] == [5, 4, 3, 2, 1]
    text, html = bodies(email)
    for label, (_rating, url) in zip(
        ["Very well", "Well", "Neither well nor badly", "Badly", "Very badly"],
        links.ratings,
        strict=True,
    ):
        assert f"{label}: {url}\n" in text
        assert f'<a href="{url}"' in html
        assert f">{label}</a>" in html
    assert "Tell us how we are doing" not in html


# --- True when it is sent -----------------------------------------------------------------


def fix_done(ticket: Ticket, *statuses: str, change: str = "Every parcel is weighed.") -> None:
    assert ticket.assignee is not None
    fix = process_fix_create(
        actor=ticket.assignee,
        title="Weigh parcels",
        root_cause="Nobody checked.",
        failsafe_change=change,
        tickets=[ticket],
    )
    for status in statuses or ("in_progress", "done"):
        process_fix_set_status(fix=fix, actor=ticket.assignee, status=status)


def test_a_promise_kept_on_time_is_told_as_kept_on_time() -> None:
    ticket = resolved()

    day_1, *_ = send(ticket)

    for body in bodies(day_1):
        assert "We promised: A replacement ships today." in body
        assert "We did it on time." in body
        assert "later than we said" not in body


def test_a_promise_kept_late_is_told_as_late_with_the_day_it_was_kept() -> None:
    ticket = resolved(zone="Asia/Tokyo")
    commitment = Commitment.objects.get(ticket=ticket)
    kept = datetime(2026, 11, 30, 23, 30, tzinfo=UTC)  # 1 December in Tokyo
    Commitment.objects.filter(pk=commitment.pk).update(
        fulfilled_at=kept, due_at=kept - timedelta(days=2)
    )

    day_1, *_ = send(ticket)

    for body in bodies(day_1):
        assert "We did it, but later than we said, on December 1, 2026." in body
        assert "on time" not in body


def test_a_promise_not_kept_yet_is_not_told() -> None:
    """A plan's "we kept it" (on time or late) needs a kept promise: with the
    latest one still open, the follow-up says nothing about promises."""
    ticket = resolved()
    Commitment.objects.create(
        ticket=ticket,
        promise="A refund by Friday.",
        due_at=timezone.now() + timedelta(days=3),
        created_at=timezone.now() + timedelta(seconds=1),
    )

    day_1, *_ = send(ticket)

    for body in bodies(day_1):
        assert "promised" not in body
        assert "A refund by Friday." not in body
        assert "We did it" not in body


def test_a_restitution_in_force_is_told_with_its_amount_in_the_customers_format() -> None:
    ticket = resolved()
    for kind, amount in (("refund", "10.00"), ("gift", "5.00")):
        restitution_grant(
            ticket=ticket,
            actor=assignee_of(ticket),
            kind=kind,
            amount=Decimal(amount),
            currency="USD",
            reason="Charged twice.",
        )

    day_1, *_ = send(ticket)

    for body in bodies(day_1):
        assert "To make up for it, we gave you a refund of $10.00 and a gift worth $5.00." in body


def test_a_restitution_voided_after_scheduling_is_not_told(supervisor: User) -> None:
    ticket = resolved()
    restitution = restitution_grant(
        ticket=ticket,
        actor=assignee_of(ticket),
        kind="refund",
        amount=Decimal("10.00"),
        currency="USD",
        reason="Charged twice.",
    )
    assert ticket.followups.count() == 3  # scheduled while it was in force
    restitution_void(restitution=restitution, actor=supervisor, reason="Granted twice.")

    emails = send(ticket)

    for email in emails:
        for body in bodies(email):
            assert "$10.00" not in body
            assert "make up for it" not in body


def test_a_fix_done_is_told_with_its_day_and_one_not_done_is_not() -> None:
    ticket = resolved()
    with time_machine.travel(datetime(2026, 12, 1, 12, 0, tzinfo=UTC), tick=False):
        fix_done(ticket)
    fix_done(ticket, "in_progress", change="Labels on every shelf.")

    day_1, day_7, day_30 = send(ticket)

    assert "Every parcel is weighed." not in str(day_1.body)  # day 1 tells no fixes
    for email in (day_7, day_30):
        for body in bodies(email):
            assert "- Every parcel is weighed. (done on December 1, 2026)" in body
            assert "Labels on every shelf." not in body


# --- The cost --------------------------------------------------------------------------


def test_a_batch_in_several_languages_reads_in_the_same_queries() -> None:
    tickets = [resolved(locale=locale) for locale in ("en", "pt-BR", "de", "ja")]
    for ticket in tickets:
        restitution_grant(
            ticket=ticket,
            actor=assignee_of(ticket),
            kind="credit",
            amount=Decimal("3.00"),
            currency="USD",
            reason="Late.",
        )
    ids = [t.followups.order_by("due_at").values_list("pk", flat=True)[0] for t in tickets]
    FollowUp.objects.filter(pk__in=ids).update(due_at=timezone.now() - timedelta(minutes=1))
    followups_claim_due()
    rows = [item_for(SOURCE, pk).pk for pk in ids]

    with CaptureQueriesContext(connection) as captured:
        dispatch = outbox_dispatch(item_ids=rows)

    assert dispatch.sent == rows
    statements = [q["sql"].split()[0] for q in captured.captured_queries]
    # The claim and the claimed rows; the follow-ups with their tickets and
    # customers, commitments, restitutions, fixes: whatever the languages;
    # and the rows not yet recorded, locked to record them at the end.
    assert statements.count("SELECT") == 7
    # Then per mail its mark-sent, one UPDATE; the batch's record, five.
    assert len(statements) == 9 + 5 + len(ids)
