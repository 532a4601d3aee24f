"""The daily rollups give the dashboard exactly the figures of the live
computation, for any range, and beat keeps them so."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from io import StringIO
from random import Random
from statistics import median
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.utils import timezone

from accounts.models import Customer, User
from accounts.roles import Role
from recovery.metrics import rollup, trust_figures, trust_metrics
from recovery.metrics.daily import Waits
from recovery.metrics.rollup import daily_figures_rebuild
from recovery.models import (
    ApprovalRequest,
    DailyCompensation,
    DailyFigures,
    DailyFiguresState,
    DailySpend,
    Feedback,
    FollowUp,
    Restitution,
    SpendEntry,
)
from recovery.tasks import refresh_daily_figures
from tests.factories import StaffFactory, TicketFactory
from tests.recovery.reference_metrics import trust_metrics_live, trust_series
from tickets.models import Commitment, Kind, Ticket

pytestmark = pytest.mark.django_db

# East of UTC and far from it, so a desk's day is not UTC's.
ZONE = "Pacific/Auckland"
SPAN = 12  # days of history
DAYS_WITH_DATA = SPAN + 1 + 7  # to a follow-up due in a week


@pytest.fixture(autouse=True)
def desk_zone(settings: Any) -> None:
    settings.TIME_ZONE = ZONE


def today() -> date:
    return timezone.localdate(timezone.now(), ZoneInfo(ZONE))


def at(day: date, hour: int = 12, minute: int = 0, second: int = 0, micro: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute, second, micro), tzinfo=ZoneInfo(ZONE))


@dataclass
class Desk:
    agents: list[User]
    supervisor: User
    tickets: list[Ticket]
    late_mishap_customer: Customer


def ticket(
    day: datetime,
    *,
    kind: str = Kind.QUESTION,
    ack_minutes: float | None = None,
    apologized: bool = False,
    repeat: bool = False,
    email: str | None = None,
    agent: User | None = None,
) -> Ticket:
    extra = {"customer_email": email} if email else {}
    made = TicketFactory(kind=kind, **({"actor": agent} if agent else {}), **extra)
    Ticket.objects.filter(pk=made.pk).update(
        created_at=day,
        acknowledged_at=day + timedelta(minutes=ack_minutes) if ack_minutes is not None else None,
        apologized_at=day + timedelta(minutes=5) if apologized else None,
        is_repeat_failure=repeat,
    )
    made.refresh_from_db()
    return made


def followup(on: Ticket, due: datetime, status: str, n: int = 1) -> FollowUp:
    return FollowUp.objects.create(
        ticket=on,
        customer=on.customer,
        step_number=n,
        offset_days=n,
        subject_template="How are we doing?",
        body_template="Tell us.",
        due_at=due,
        status=status,
        sent_at=due if status == FollowUp.Status.SENT else None,
    )


def grant(
    on: Ticket,
    by: User,
    amount: str,
    *,
    when: datetime,
    kind: str = "refund",
    currency: str = "USD",
    loss: str | None = None,
    status: str = Restitution.Status.GRANTED,
) -> Restitution:
    made = Restitution.objects.create(
        ticket=on,
        customer=on.customer,
        agent=by,
        kind=kind,
        amount=Decimal(amount),
        currency=currency,
        reason="Sorry.",
        customer_loss=Decimal(loss) if loss else None,
        status=status,
        charged_to=by,
        created_at=when,
    )
    SpendEntry.objects.create(
        user=by,
        restitution=made,
        ticket=on,
        customer=on.customer,
        amount=Decimal(amount),
        currency=currency,
        created_at=when,
    )
    return made


def varied_desk() -> Desk:
    """Every figure non-trivial, over SPAN days up to today, with tickets a
    moment either side of the desk's midnight."""
    agents = [StaffFactory(role=Role.AGENT, username=name) for name in ("zed", "Amy", "bea")]
    supervisor = StaffFactory(role=Role.SUPERVISOR, username="sup")
    first = today() - timedelta(days=SPAN)
    tickets: list[Ticket] = []
    for n in range(SPAN + 1):
        day = first + timedelta(days=n)
        agent = agents[n % 3]
        tickets += [
            ticket(at(day, 0, 0, 0), kind=Kind.MISHAP, ack_minutes=3 + n, apologized=n % 2 == 0),
            ticket(at(day, 23, 59, 59, 999_999), kind=Kind.MISHAP, ack_minutes=17.5 * (n % 4)),
            ticket(at(day, 9, 30), ack_minutes=(n * 37) % 240, repeat=n % 5 == 0),
            ticket(at(day, 14), kind=Kind.MISHAP, repeat=n % 3 == 0, agent=agent),
        ]
        mishap = tickets[-1]
        # Promises: kept, broken, fulfilled days after, and open.
        Commitment.objects.create(
            ticket=mishap, promise="Refund", due_at=at(day, 18), fulfilled_at=at(day, 17)
        )
        Commitment.objects.create(
            ticket=tickets[-2],
            promise="Call back",
            due_at=at(day, 23, 59, 59),
            fulfilled_at=at(day + timedelta(days=3), 10) if n % 2 else None,
        )
        # Spend: three people, two kinds, two currencies, and a void.
        grant(mishap, agent, f"{10 + n}.50", when=at(day, 15), loss=f"{20 + 3 * n}.00")
        grant(mishap, agents[(n + 1) % 3], "7.25", when=at(day, 23, 59), kind="credit")
        if n % 4 == 0:
            voided = grant(mishap, agent, "3.00", when=at(day, 16), currency="EUR", status="voided")
            SpendEntry.objects.create(
                user=agent,
                restitution=voided,
                ticket=mishap,
                customer=mishap.customer,
                amount=Decimal("-3.00"),
                currency="EUR",
                created_at=at(day, 16, 30),
            )
        if n % 3 == 1:
            pending = grant(mishap, agent, "120.00", when=at(day, 10), status="approved")
            ApprovalRequest.objects.create(
                restitution=pending,
                requested_by=agent,
                status=ApprovalRequest.Status.APPROVED,
                created_at=at(day - timedelta(days=1), 22),
                decided_by=supervisor,
                decided_at=at(day, 0, 30 + n),
            )
        # Follow-ups due that day: sent and rated, sent, failed, scheduled.
        rated = followup(mishap, at(day, 11), FollowUp.Status.SENT)
        Feedback.objects.create(
            ticket=mishap,
            customer=mishap.customer,
            followup=rated,
            rating=1 + n % 5,
            created_at=at(day, 23, 30),
        )
        followup(tickets[-2], at(day, 12), FollowUp.Status.SENT)
        followup(tickets[-3], at(day, 13), FollowUp.Status.FAILED)
        followup(tickets[-4], at(day, 13), FollowUp.Status.SCHEDULED, n=2)
        question = tickets[-2]
        Feedback.objects.create(
            ticket=question,
            customer=question.customer,
            rating=5 - n % 3,
            created_at=at(day, 0, 0, 1),
        )
    # Ratings of a mishap with no loss stated, and of one paid well over the loss.
    for loss, rating in ((None, 4), ("5.00", 2)):
        rated_mishap = ticket(at(first + timedelta(days=2), 8), kind=Kind.MISHAP)
        grant(rated_mishap, agents[0], "30.00", when=at(first + timedelta(days=2), 9), loss=loss)
        Feedback.objects.create(
            ticket=rated_mishap,
            customer=rated_mishap.customer,
            rating=rating,
            created_at=at(first + timedelta(days=3), 9),
        )
    # A customer rated a question on day 1 and had their first mishap on day 8.
    email = "late-mishap@example.com"
    question = ticket(at(first + timedelta(days=1), 9), email=email)
    Feedback.objects.create(
        ticket=question, customer=question.customer, rating=5, created_at=at(first, 23, 59)
    )
    ticket(at(first + timedelta(days=8), 9), kind=Kind.MISHAP, email=email)
    # A promise due tomorrow and a follow-up due next week.
    Commitment.objects.create(
        ticket=tickets[-3], promise="Ship", due_at=at(today(), 23) + timedelta(days=1)
    )
    followup(tickets[-1], at(today() + timedelta(days=7), 9), FollowUp.Status.SCHEDULED, n=3)
    return Desk(agents, supervisor, tickets, question.customer)


def ranges() -> list[tuple[date, date]]:
    end = today()
    first = end - timedelta(days=SPAN)
    return [
        (first - timedelta(days=3), end + timedelta(days=8)),  # everything
        (first, first),  # one day
        (first + timedelta(days=2), first + timedelta(days=9)),  # stored days only
        (end - timedelta(days=4), end),  # stored days and today
        (end, end),  # today alone
        (first + timedelta(days=1), end + timedelta(days=1)),  # into tomorrow
    ]


def assert_same_as_live() -> None:
    for start, end in ranges():
        live = trust_metrics_live(start=start, end=end)
        assert trust_metrics(start=start, end=end) == live, (start, end)
        for bucket in ("day", "week"):
            metrics, series = trust_figures(start=start, end=end, bucket=bucket)
            assert metrics == live, (start, end, bucket)
            assert series == trust_series(start=start, end=end, bucket=bucket), (start, end)


def test_the_varied_desk_has_every_figure() -> None:
    varied_desk()
    metrics = trust_metrics_live(start=today() - timedelta(days=SPAN), end=today())

    values = metrics.as_dict()
    for name in (
        "median_minutes_to_acknowledge",
        "apology_rate",
        "promises_kept_rate",
        "median_hours_to_approval",
        "followup_delivery_rate",
        "followup_response_rate",
        "recovered_average_rating",
        "never_failed_average_rating",
        "recovery_paradox_index",
        "repeat_failures",
    ):
        assert values[name], name
    assert len(metrics.restitution_spend) >= 6
    assert {row["currency"] for row in metrics.restitution_spend} == {"USD", "EUR"}
    assert all(values["word_of_mouth"].values())
    assert sum(1 for band in metrics.compensation_effectiveness if band["count"]) >= 3
    assert metrics.compensation_loss_not_stated["count"] == 1


def test_before_any_rollup_every_day_is_computed_live_with_the_same_figures() -> None:
    varied_desk()

    assert_same_as_live()


def test_rolled_up_figures_equal_the_live_computation_for_every_range() -> None:
    varied_desk()

    days = daily_figures_rebuild()

    assert days == DAYS_WITH_DATA
    state = DailyFiguresState.objects.get()
    assert state.history_built
    assert state.history_from == today() - timedelta(days=SPAN)
    assert DailyFigures.objects.filter(day__lte=today()).count() == SPAN + 1
    # Tomorrow's promise; the follow-up due next week counts nothing until sent.
    assert DailyFigures.objects.filter(day__gt=today()).count() == 1
    assert DailySpend.objects.exists()
    assert DailyCompensation.objects.exists()
    assert_same_as_live()


def test_beat_builds_the_history_a_chunk_a_run_and_reads_live_until_it_is_done(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    varied_desk()
    monkeypatch.setattr(rollup, "HISTORY_CHUNK_DAYS", 5)

    runs = 0
    while not DailyFiguresState.objects.filter(history_built=True).exists():
        assert_same_as_live()
        refresh_daily_figures()
        runs += 1

    assert runs == -(-DAYS_WITH_DATA // 5)
    assert_same_as_live()
    rows = list(DailyFigures.objects.values_list("day", "mishaps", "acknowledge_waits"))
    refresh_daily_figures()  # idempotent: the same rows again
    assert list(DailyFigures.objects.values_list("day", "mishaps", "acknowledge_waits")) == rows


def test_changes_to_past_days_are_in_the_figures_after_the_next_run() -> None:
    desk = varied_desk()
    daily_figures_rebuild()
    old = today() - timedelta(days=SPAN - 2)
    ticket_of_old_day = Ticket.objects.filter(
        created_at__gte=at(old, 0), acknowledged_at__isnull=True
    ).first()
    assert ticket_of_old_day is not None

    # Acknowledged days late (saved, so updated_at moves), a first mishap for
    # a customer rated before, a promise fulfilled, a restitution voided.
    ticket_of_old_day.acknowledged_at = timezone.now()
    ticket_of_old_day.save(update_fields=["acknowledged_at", "updated_at"])
    ticket(at(today(), 1), kind=Kind.MISHAP, email=desk.late_mishap_customer.email)
    Commitment.objects.filter(fulfilled_at__isnull=True, due_at__gt=timezone.now()).update(
        fulfilled_at=timezone.now()
    )
    Restitution.objects.filter(customer_loss__isnull=True, status="granted").update(
        status="voided", voided_at=timezone.now()
    )

    everything = ranges()[0]
    assert trust_metrics(start=everything[0], end=everything[1]) != trust_metrics_live(
        start=everything[0], end=everything[1]
    )  # stale until beat runs: the documented lag

    refresh_daily_figures()

    assert_same_as_live()


def test_a_changed_time_zone_reads_live_until_beat_starts_again(settings: Any) -> None:
    varied_desk()
    daily_figures_rebuild()

    settings.TIME_ZONE = "America/Sao_Paulo"

    assert_same_as_live()  # not the days cut in Auckland
    refresh_daily_figures()
    assert DailyFiguresState.objects.get().time_zone == "America/Sao_Paulo"
    assert_same_as_live()


def test_the_rebuild_command_reports_its_progress() -> None:
    varied_desk()
    err = StringIO()

    call_command("rebuild_daily_figures", stderr=err)

    assert f"Rebuilt {DAYS_WITH_DATA} days" in err.getvalue()
    assert (today() - timedelta(days=SPAN)).isoformat() in err.getvalue()
    assert_same_as_live()


@pytest.mark.parametrize("seed", range(20))
def test_the_median_of_sorted_runs_is_that_of_all_their_values(seed: int) -> None:
    rng = Random(seed)
    runs = [
        [rng.randint(-5, 10 ** rng.randint(1, 11)) for _ in range(rng.randint(0, 40))]
        for _ in range(rng.randint(1, 12))
    ]
    runs.append([7, 7, 7])  # duplicates across runs
    waits = Waits()
    for run in runs:
        waits.extend(Waits.from_bytes(Waits.of(run).to_bytes()))

    assert waits.median() == median(value for run in runs for value in run)
    assert waits.sorted() == sorted(value for run in runs for value in run)


def test_no_waits_have_no_median() -> None:
    assert Waits().median() is None
    assert Waits.from_bytes(b"").median() is None
