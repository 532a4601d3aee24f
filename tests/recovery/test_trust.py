"""The customer's trust profile (recovery/trust): each level and each
reason, from touchpoints made through the services under a frozen clock."""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.db.models import DateTimeField, OuterRef, Value

from accounts.models import Customer, User
from recovery.models import FollowUp
from recovery.services import restitution_grant
from recovery.services.followup_responses import customer_unsubscribe, feedback_record
from recovery.trust import (
    Level,
    TrustProfile,
    is_fragile,
    profile_of,
    trust_profile,
    trust_profiles,
)
from recovery.trust.figures import figure_annotations
from tests.factories import CustomerFactory, TicketFactory, give_authority
from tickets.models import Kind, Ticket
from tickets.services import (
    ticket_acknowledge,
    ticket_apologize,
    ticket_commit,
    ticket_resolve,
    ticket_restore,
)

pytestmark = pytest.mark.django_db

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
EMAIL = "trust@example.com"


@contextmanager
def at(moment: datetime) -> Iterator[None]:
    with time_machine.travel(moment, tick=False):
        yield


def profile(now: datetime, **kwargs: Any) -> TrustProfile:
    """The profile; and the Fragile rule in SQL, which orders the work list,
    must say the same as the profile."""
    customer = Customer.objects.get(email=EMAIL)
    found = trust_profile(customer.pk, now=now, **kwargs)
    if not kwargs:
        in_sql = Customer.objects.filter(is_fragile(OuterRef("pk"), now=now), pk=customer.pk)
        assert in_sql.exists() == (found.level == Level.FRAGILE)
    return found


def question(agent: User, when: datetime) -> Ticket:
    with at(when):
        return TicketFactory(actor=agent, customer_email=EMAIL)


def mishap(agent: User, when: datetime) -> Ticket:
    with at(when):
        return TicketFactory(actor=agent, kind=Kind.MISHAP, customer_email=EMAIL)


def recover(
    ticket: Ticket,
    *,
    acknowledged_after: timedelta = timedelta(minutes=30),
    apologized_after: timedelta = timedelta(hours=2),
    promised_for: timedelta = timedelta(days=1),
    kept_after: timedelta = timedelta(hours=12),
    to: str = "rebuilding",
) -> Ticket:
    """Acknowledge, apologize and commit, each at its time after the ticket
    came; keep the promise ``kept_after`` its making (late when longer than
    ``promised_for``), then on to ``to``."""
    agent = ticket.assignee
    assert agent is not None
    came = ticket.created_at
    with at(came + acknowledged_after):
        ticket = ticket_acknowledge(
            ticket=ticket, actor=agent, our_part="We sent the wrong item.", message="We have it."
        )
    committed_at = came + apologized_after + timedelta(minutes=5)
    with at(came + apologized_after):
        ticket = ticket_apologize(ticket=ticket, actor=agent, message="We are sorry.")
    with at(committed_at):
        ticket = ticket_commit(
            ticket=ticket, actor=agent, promise="A refund.", due_at=committed_at + promised_for
        )
    if to == "committed":
        return ticket
    with at(committed_at + kept_after):
        ticket = ticket_resolve(ticket=ticket, actor=agent, message="Refunded.")
        if to == "restored":
            ticket = ticket_restore(ticket=ticket, actor=agent, reason="Done.")
    return ticket


def rate(ticket: Ticket, rating: int, when: datetime) -> None:
    followup = FollowUp.objects.filter(ticket=ticket).order_by("due_at").first()
    assert followup is not None
    with at(when):
        feedback_record(followup=followup, rating=rating)


# --- New ------------------------------------------------------------------------------


def test_a_customer_without_a_ticket_is_new() -> None:
    customer = CustomerFactory(email=EMAIL)
    found = trust_profile(customer.pk, now=START)
    assert (found.level, found.reasons) == (Level.NEW, ["no ticket with us yet"])


def test_a_first_question_is_new(agent: User) -> None:
    question(agent, START)
    found = profile(START + timedelta(hours=1))
    assert (found.level, found.reasons) == (Level.NEW, ["first ticket with us"])


def test_a_few_questions_are_still_new(agent: User) -> None:
    question(agent, START)
    question(agent, START + timedelta(days=3))
    found = profile(START + timedelta(days=4))
    assert found.level == Level.NEW
    assert found.reasons == ["only 2 tickets so far, none of them a mishap"]


# --- Steady ---------------------------------------------------------------------------


def test_enough_questions_without_a_mishap_is_steady(agent: User) -> None:
    for days in (0, 10, 20):
        question(agent, START + timedelta(days=days))
    found = profile(START + timedelta(days=30))
    assert found.level == Level.STEADY
    assert found.reasons == ["no mishap in the last year", "3 tickets in all"]


def test_a_mishap_recovered_with_kept_promises_and_a_good_rating_is_steady(agent: User) -> None:
    ticket = recover(mishap(agent, START), to="rebuilding")
    rate(ticket, 5, START + timedelta(days=8))
    with at(START + timedelta(days=30)):
        ticket_restore(ticket=ticket, actor=agent, reason="Done.")
    found = profile(START + timedelta(days=40))
    assert found.level == Level.STEADY
    assert found.reasons == [
        "1 mishap in the last year, recovered",
        "promises kept: 1 of 1",
        "last rated 5 of 5",
        "1 ticket in all",
    ]


# --- Recovering -----------------------------------------------------------------------


def test_a_mishap_being_put_right_is_recovering(agent: User) -> None:
    mishap(agent, START)
    found = profile(START + timedelta(hours=1))
    assert (found.level, found.reasons) == (Level.RECOVERING, ["a mishap being put right now"])


def test_a_rebuilding_period_without_a_rating_yet_is_recovering(agent: User) -> None:
    recover(mishap(agent, START))
    resolved = START + timedelta(hours=2, minutes=5) + timedelta(hours=12)
    found = profile(resolved + timedelta(days=3))
    assert found.level == Level.RECOVERING
    assert found.reasons == ["in a rebuilding period for 3 days", "no rating yet in this period"]


def test_good_answers_in_the_rebuilding_period_say_so(agent: User) -> None:
    ticket = recover(mishap(agent, START))
    rate(ticket, 4, START + timedelta(days=4))
    found = profile(START + timedelta(days=5))
    assert found.level == Level.RECOVERING
    assert "answers so far good: rated 4 of 5" in found.reasons


# --- Fragile --------------------------------------------------------------------------


def test_two_mishaps_in_sixty_days_are_fragile(agent: User) -> None:
    recover(mishap(agent, START), to="restored")
    later = START + timedelta(days=59, hours=20)
    second = mishap(agent, later)
    recover(second, to="restored")
    found = profile(START + timedelta(days=60))
    assert found.level == Level.FRAGILE
    assert found.reasons[0] == "2 mishaps in 60 days"


def test_a_repeat_failure_is_fragile(agent: User) -> None:
    recover(mishap(agent, START))  # rebuilding
    mishap(agent, START + timedelta(days=5))
    found = profile(START + timedelta(days=6))
    assert found.level == Level.FRAGILE
    assert "a repeat failure: another mishap soon after the last" in found.reasons


def test_a_late_last_promise_is_fragile(agent: User) -> None:
    recover(mishap(agent, START), promised_for=timedelta(days=1), kept_after=timedelta(days=3))
    found = profile(START + timedelta(days=10))
    assert found.level == Level.FRAGILE
    assert found.reasons[0] == "the last promise was 2 days late"
    assert found.figures.promises_late == 1
    assert found.figures.last_promise_late_hours == 48.0


def test_an_overdue_promise_is_fragile(agent: User) -> None:
    recover(mishap(agent, START), promised_for=timedelta(hours=1), to="committed")
    due = START + timedelta(hours=2, minutes=5) + timedelta(hours=1)
    found = profile(due + timedelta(hours=5))
    assert found.level == Level.FRAGILE
    assert found.reasons[0] == "the last promise is 5 hours overdue"


def test_a_low_last_rating_is_fragile(agent: User) -> None:
    ticket = recover(mishap(agent, START))
    rate(ticket, 2, START + timedelta(days=7))
    found = profile(START + timedelta(days=10))
    assert found.level == Level.FRAGILE
    assert found.reasons[0] == "rated 2 of 5 3 days ago"


def test_the_issue_example_gives_every_reason_at_once(agent: User) -> None:
    recover(mishap(agent, START), to="restored")
    second = mishap(agent, START + timedelta(days=50))
    second = recover(second, kept_after=timedelta(days=3))  # a day's promise, two days late
    rate(second, 2, START + timedelta(days=59))
    found = profile(START + timedelta(days=60))
    assert found.level == Level.FRAGILE
    assert found.reasons == [
        "2 mishaps in 60 days",
        "a repeat failure: another mishap soon after the last",
        "the last promise was 2 days late",
        "rated 2 of 5 yesterday",
    ]
    assert found.summary.startswith("Fragile: 2 mishaps in 60 days; a repeat failure")


def test_history_older_than_a_year_is_forgiven(agent: User) -> None:
    ticket = recover(mishap(agent, START), to="rebuilding")
    rate(ticket, 1, START + timedelta(days=3))
    with at(START + timedelta(days=20)):
        ticket_restore(ticket=ticket, actor=agent, reason="Done.")
    found = profile(START + timedelta(days=400))
    assert found.level == Level.STEADY
    assert found.reasons[0] == "no mishap in the last year"


def test_the_fragile_threshold_is_a_setting(agent: User, settings: Any) -> None:
    recover(mishap(agent, START), to="restored")
    recover(mishap(agent, START + timedelta(days=50)), to="restored")
    now = START + timedelta(days=60)
    assert "2 mishaps in 60 days" in profile(now).reasons
    settings.HELPDESK_TRUST_FRAGILE_MISHAPS = 3
    assert "2 mishaps in 60 days" not in profile(now).reasons


# --- Reasons at any level -------------------------------------------------------------


def test_unsubscribing_is_said(agent: User) -> None:
    ticket = recover(mishap(agent, START))
    followup = FollowUp.objects.filter(ticket=ticket).first()
    assert followup is not None
    with at(START + timedelta(days=2)):
        customer_unsubscribe(followup=followup)
    found = profile(START + timedelta(days=5))
    assert found.reasons[-1] == "stopped our follow-ups 3 days ago"
    assert found.figures.unsubscribed_at == START + timedelta(days=2)


def test_restitution_is_a_share_of_the_loss_stated_once_per_mishap(agent: User) -> None:
    give_authority(agent, kinds=["refund", "credit"])
    ticket = mishap(agent, START)
    with at(START + timedelta(minutes=10)):
        for kind, amount in (("refund", "50.00"), ("credit", "30.00")):
            restitution_grant(
                ticket=ticket,
                actor=agent,
                kind=kind,
                amount=amount,
                currency="USD",
                reason="Sorry.",
                customer_loss="100.00",  # said again with the second grant
            )
    found = profile(START + timedelta(hours=1))
    assert found.figures.restitution_share_of_loss == 0.8
    assert "granted 80% of the losses they stated" in found.reasons


def test_the_median_times_to_acknowledge_and_apologize(agent: User) -> None:
    recover(mishap(agent, START), acknowledged_after=timedelta(minutes=20), to="restored")
    recover(
        mishap(agent, START + timedelta(days=1)),
        acknowledged_after=timedelta(minutes=40),
        apologized_after=timedelta(hours=3),
        to="restored",
    )
    figures = profile(START + timedelta(days=5)).figures
    assert figures.median_minutes_to_acknowledge == 30.0
    assert figures.median_minutes_to_apologize == 150.0


# --- Where it is read -----------------------------------------------------------------


def test_excluding_a_ticket_judges_the_customer_as_before_it(agent: User) -> None:
    question(agent, START)
    new = mishap(agent, START + timedelta(days=1))
    now = START + timedelta(days=1, hours=1)
    assert profile(now).level == Level.RECOVERING
    assert profile(now, excluding_ticket=new.pk).level == Level.NEW


def test_a_profile_costs_one_query_whatever_the_history(
    agent: User, django_assert_num_queries: Any
) -> None:
    for days in range(0, 40, 8):
        recover(mishap(agent, START + timedelta(days=days)), to="restored")
    customer = Customer.objects.get(email=EMAIL)
    with django_assert_num_queries(1):
        trust_profile(customer.pk, now=START + timedelta(days=45))


def test_profiles_of_many_customers_cost_one_query(
    agent: User, django_assert_num_queries: Any
) -> None:
    ids = [TicketFactory(actor=agent, kind=Kind.MISHAP).customer_id for _ in range(4)]
    with django_assert_num_queries(1):
        found = trust_profiles(ids)
    assert set(found) == set(ids)
    assert {p.level for p in found.values()} == {Level.RECOVERING}


def test_is_fragile_names_only_the_fragile(agent: User) -> None:
    recover(mishap(agent, START))
    mishap(agent, START + timedelta(days=5))  # a repeat failure: fragile
    steady = TicketFactory(actor=agent, customer_email="calm@example.com")
    with at(START + timedelta(days=6)):
        found = set(
            Customer.objects.filter(is_fragile(OuterRef("pk"))).values_list("pk", flat=True)
        )
    assert found == {Customer.objects.get(email=EMAIL).pk}
    assert steady.customer_id not in found


def test_an_unknown_customer_is_an_error() -> None:
    with pytest.raises(Customer.DoesNotExist):
        trust_profile(999_999)


def test_the_figures_compiled_once_a_process_are_those_built_afresh(agent: User) -> None:
    """``trust_profile`` reads the figures' SQL compiled once a process
    (``recovery.trust.FIGURES``) with the moment swapped in: at every moment
    the same figures as the subqueries Django builds for each query."""
    give_authority(agent, kinds=["refund"])
    first = mishap(agent, START)
    with at(START + timedelta(minutes=10)):
        restitution_grant(
            ticket=first,
            actor=agent,
            kind="refund",
            amount="40.00",
            currency="USD",
            reason="Sorry.",
            customer_loss="100.00",
        )
    recover(first, to="restored")
    second = recover(mishap(agent, START + timedelta(days=50)), kept_after=timedelta(days=3))
    rate(second, 2, START + timedelta(days=59))
    customer = Customer.objects.get(email=EMAIL)
    with at(START + timedelta(days=70)):
        customer_unsubscribe(followup=FollowUp.objects.filter(ticket=second).earliest("due_at"))

    seen = []
    for days in (60, 95, 139, 145, 400, 420):
        now = START + timedelta(days=days)
        afresh = Customer.objects.annotate(
            **figure_annotations(OuterRef("pk"), now=now),
            trust_as_of=Value(now, output_field=DateTimeField()),
        ).get(pk=customer.pk)
        compiled = trust_profile(customer.pk, now=now)
        assert compiled.as_dict() == profile_of(afresh).as_dict(), days
        seen.append((compiled.figures.mishaps_90_days, compiled.figures.mishaps_365_days))
    # The moment moved both windows: the swap reached every slot.
    assert seen == [(2, 2), (1, 2), (1, 2), (0, 2), (0, 1), (0, 0)]
