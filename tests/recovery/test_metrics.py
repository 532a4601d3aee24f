"""The trust dashboard's figures: each counts what it says, in SQL, for a range."""

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from accounts.models import User
from recovery import compensation
from recovery.compensation import compensation_effectiveness
from recovery.metrics import (
    _bounds,
    bucket_for,
    budget_for_range,
    trust_figures,
    trust_metrics,
)
from recovery.models import Feedback, Restitution
from recovery.selectors import Policy
from recovery.services import restitution_grant, restitution_void, restitutions
from recovery.services.followup_responses import feedback_record
from tests.factories import TicketFactory, advance, give_authority
from tests.helpers import assignee_of, client_for, not_none, today
from tickets.models import Kind, Ticket

pytestmark = pytest.mark.django_db


METRICS_QUERIES = 10


def test_an_empty_desk_has_no_figures_rather_than_zero_rates() -> None:
    metrics = trust_metrics(start=today(), end=today())

    assert metrics.mishaps == 0
    assert metrics.apology_rate is None
    assert metrics.promises_kept_rate is None
    assert metrics.median_minutes_to_acknowledge is None
    assert metrics.recovery_paradox_index is None
    assert [
        (b["band"], b["count"], b["mean_rating"]) for b in metrics.compensation_effectiveness
    ] == [
        ("none", 0, None),
        ("under_60", 0, None),
        ("60_120", 0, None),
        ("120_150", 0, None),
        ("over_150", 0, None),
    ]
    assert metrics.compensation_loss_not_stated == {"count": 0, "mean_rating": None}


def test_acknowledgement_apology_and_promises_are_counted() -> None:
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        fast = TicketFactory(kind=Kind.MISHAP)
        slow = TicketFactory(kind=Kind.MISHAP)
        TicketFactory(kind=Kind.MISHAP)  # never acknowledged
        clock.shift(timedelta(minutes=10))
        advance(fast, to="committed")
        clock.shift(timedelta(minutes=20))
        advance(slow, to="acknowledged")
        # Read at the same moment: run just before midnight, "today" after
        # the travel would be the day before the promise's, which falls
        # outside the range.
        metrics = trust_metrics(start=today() - timedelta(days=1), end=today() + timedelta(days=2))

    assert metrics.mishaps == 3
    assert metrics.median_minutes_to_acknowledge == 20.0  # 10 and 30 minutes
    assert metrics.apology_rate == round(1 / 3, 4)
    assert metrics.promises_due == 1  # due in two days, inside the range
    assert metrics.promises_kept_rate == 0.0  # not yet fulfilled


def test_spend_per_agent_and_kind_and_the_recovery_paradox_index() -> None:
    mishap = advance(TicketFactory(kind=Kind.MISHAP), to="rebuilding")
    restitution_grant(
        ticket=mishap,
        actor=assignee_of(mishap),
        kind="refund",
        amount="20.00",
        currency="USD",
        reason="Broken vase.",
    )
    Feedback.objects.create(
        ticket=mishap, customer=mishap.customer, followup=mishap.followups.first(), rating=5
    )
    question = advance(TicketFactory(kind=Kind.QUESTION), to="resolved")
    Feedback.objects.create(ticket=question, customer=question.customer, rating=4)

    metrics = trust_metrics(start=today(), end=today())

    assert metrics.restitution_spend == [
        {
            "user": assignee_of(mishap).pk,
            "username": assignee_of(mishap).username,
            "kind": "refund",
            "currency": "USD",
            "total": "20.00",
        }
    ]
    assert metrics.recovered_average_rating == 5.0
    assert metrics.never_failed_average_rating == 4.0
    assert metrics.recovery_paradox_index == 1.25
    assert metrics.word_of_mouth == {"happy_tell": 3, "resolved_tell": 5, "unhappy_tell": 0}


def test_a_rating_from_a_question_follow_up_is_the_never_failed_baseline() -> None:
    question = advance(TicketFactory(kind=Kind.QUESTION), to="resolved")
    feedback_record(followup=question.followups.get(), rating=4)

    alone = trust_metrics(start=today(), end=today() + timedelta(days=1))

    assert alone.never_failed_average_rating == 4.0
    assert alone.recovered_average_rating is None
    assert alone.recovery_paradox_index is None

    mishap = advance(TicketFactory(kind=Kind.MISHAP), to="rebuilding")
    feedback_record(followup=not_none(mishap.followups.order_by("due_at").first()), rating=5)

    both = trust_metrics(start=today(), end=today() + timedelta(days=1))

    assert both.never_failed_average_rating == 4.0
    assert both.recovered_average_rating == 5.0
    assert both.recovery_paradox_index == 1.25


def test_the_endpoint_is_for_supervisors(supervisor: User, agent: User) -> None:
    assert client_for(agent).get("/api/v1/metrics/trust/").status_code == 403

    response = client_for(supervisor).get("/api/v1/metrics/trust/")

    assert response.status_code == 200
    body = response.json()
    assert body["end"] == today().isoformat()
    assert body["start"] == (today() - timedelta(days=29)).isoformat()
    assert body["mishaps"] == 0


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"start": "yesterday"}, "start"),
        ({"end": "2026-02-30"}, "end"),
        ({"start": "1990-01-01", "end": "2026-01-01"}, "start"),
    ],
)
def test_a_bad_range_is_a_clear_400(supervisor: User, query: dict[str, str], field: str) -> None:
    response = client_for(supervisor).get("/api/v1/metrics/trust/", query)

    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_a_range_that_ends_before_it_starts_is_a_422(supervisor: User) -> None:
    # Each date is valid on its own: together they break a rule.
    response = client_for(supervisor).get(
        "/api/v1/metrics/trust/", {"start": "2026-05-02", "end": "2026-05-01"}
    )

    assert response.status_code == 422
    assert "start" in response.json()["errors"]


@pytest.mark.parametrize("size", [1, 6])
def test_the_figures_cost_the_same_queries_whatever_the_history(
    supervisor: User, size: int, django_assert_num_queries: Any
) -> None:
    for _ in range(size):
        ticket = advance(TicketFactory(kind=Kind.MISHAP), to="rebuilding")
        Feedback.objects.create(
            ticket=ticket, customer=ticket.customer, followup=ticket.followups.first(), rating=4
        )
    client = client_for(User.objects.get(pk=supervisor.pk))

    # Permissions (1), the daily rollups' state (1; no history built here, so
    # every day is computed live), then one query per group of figures (8).
    with django_assert_num_queries(METRICS_QUERIES):
        assert client.get("/api/v1/metrics/trust/").status_code == 200


def test_the_series_counts_each_week_in_sql_and_fills_the_empty_ones(
    django_assert_num_queries: Any,
) -> None:
    now = timezone.now()
    for weeks_ago, apologize in [(0, True), (0, False), (2, True), (5, False)]:
        with time_machine.travel(now - timedelta(weeks=weeks_ago), tick=False):
            ticket = TicketFactory(kind=Kind.MISHAP)
            advance(ticket, to="committed" if apologize else "acknowledged")
    TicketFactory(kind=Kind.QUESTION)  # not a mishap
    start, end = today() - timedelta(weeks=6), today() + timedelta(days=3)

    # The same read as the figures': the rollups' state, then (no history
    # built here) one GROUP BY per group of figures, whatever the weeks.
    with django_assert_num_queries(METRICS_QUERIES - 1):
        _, series = trust_figures(start=start, end=end, bucket="week")

    def monday(day: date) -> date:
        return day - timedelta(days=day.weekday())

    days = [start + timedelta(days=n) for n in range((end - start).days + 1)]
    assert len(series) == len({monday(day) for day in days})
    assert series[0].start == start  # the first week is cut by the range
    assert all(point.start.weekday() == 0 for point in series[1:])
    by_start = {point.start: point for point in series}
    this_week = by_start[max(start, monday(today()))]
    assert sum(point.mishaps for point in series) == 4
    assert this_week.mishaps == 2
    assert this_week.apology_rate == 0.5
    assert by_start[monday(today() - timedelta(weeks=2))].apology_rate == 1.0
    assert by_start[monday(today() - timedelta(weeks=1))].mishaps == 0
    assert by_start[monday(today() - timedelta(weeks=1))].apology_rate is None  # not 0%
    # A commitment falls in the week it is due: two days after it was made.
    due = by_start[monday(today() + timedelta(days=2))]
    assert (due.promises_due, due.promises_kept, due.promises_kept_rate) == (1, 0, 0.0)
    assert sum(point.promises_due for point in series) == 2


def test_the_daily_series_has_a_point_per_day() -> None:
    with time_machine.travel(timezone.now() - timedelta(days=3), tick=False):
        TicketFactory(kind=Kind.MISHAP)

    _, series = trust_figures(start=today() - timedelta(days=6), end=today(), bucket="day")

    assert [point.start for point in series] == [
        today() - timedelta(days=n) for n in range(6, -1, -1)
    ]
    assert [point.mishaps for point in series] == [0, 0, 0, 1, 0, 0, 0]


def test_the_bucket_is_days_for_a_month_and_weeks_beyond() -> None:
    assert bucket_for(today() - timedelta(days=29), today()) == "day"
    assert bucket_for(today() - timedelta(days=89), today()) == "week"


@pytest.mark.parametrize(
    ("period", "start", "end", "budget"),
    [
        ("week", date(2026, 4, 1), date(2026, 4, 7), "200.00"),  # a Wednesday: still one week
        ("week", date(2026, 4, 1), date(2026, 4, 30), "857.14"),  # 30/7 weeks
        ("day", date(2026, 4, 1), date(2026, 4, 7), "1400.00"),
        ("month", date(2026, 4, 1), date(2026, 4, 30), "200.00"),  # one calendar month
        ("month", date(2026, 2, 1), date(2026, 2, 28), "200.00"),
        ("month", date(2026, 4, 16), date(2026, 5, 15), "196.77"),  # 15/30 + 15/31
        ("month", date(2025, 1, 1), date(2025, 12, 31), "2400.00"),
    ],
)
def test_the_budget_for_a_range_is_the_period_limit_pro_rata(
    period: str, start: date, end: date, budget: str
) -> None:
    policy = Policy(Decimal(50), Decimal(200), period, Decimal(100), (), "USD", True)

    assert budget_for_range(policy, start, end) == Decimal(budget)


# --- compensation effectiveness -------------------------------------------------------


def rated_mishap(rating: int, *grants: tuple[str, str | None]) -> Ticket:
    """A mishap walked to rebuilding, granted each (amount, customer_loss) in
    turn by its assignee (up to 100.00 USD on the ticket without approval),
    then rated on its first follow-up, all through the services."""
    ticket = advance(TicketFactory(kind=Kind.MISHAP), to="rebuilding")
    assert ticket.assignee is not None
    give_authority(ticket.assignee, kinds=["refund"])
    for amount, loss in grants:
        restitution_grant(
            ticket=ticket,
            actor=ticket.assignee,
            kind="refund",
            amount=amount,
            currency="USD",
            reason="Sorry.",
            customer_loss=loss,
        )
    followup = ticket.followups.order_by("due_at").first()
    assert followup is not None
    feedback_record(followup=followup, rating=rating)
    return ticket


def bands(metrics: Any) -> dict[str, tuple[int, float | None]]:
    return {b["band"]: (b["count"], b["mean_rating"]) for b in metrics.compensation_effectiveness}


def test_ratings_are_grouped_by_restitution_as_a_share_of_the_loss() -> None:
    # No restitution in force: none granted, one awaiting approval, one voided.
    rated_mishap(2)
    rated_mishap(3)
    pending = rated_mishap(4, ("150.00", "100.00"))  # above its 100.00: awaits a supervisor
    assert pending.restitutions.get().status == Restitution.Status.PENDING_APPROVAL
    voided = rated_mishap(3, ("30.00", "50.00"))
    assert voided.assignee is not None
    restitution_void(
        restitution=voided.restitutions.get(), actor=voided.assignee, reason="Wrong ticket."
    )
    # Under 60%.
    rated_mishap(2, ("20.00", "50.00"))  # 40%
    rated_mishap(3, ("29.99", "50.00"))  # 59.98%
    # 60-120%, both ends included.
    rated_mishap(4, ("30.00", "50.00"))  # 60% exactly
    rated_mishap(5, ("50.00", "100.00"), ("30.00", "100.00"))  # one loss restated: 80%, not 40%
    rated_mishap(5, ("60.00", "50.00"))  # 120% exactly
    rated_mishap(4, ("20.00", None), ("20.00", "50.00"))  # the loss stated on either: 80%
    # 120-150%, 150% included.
    rated_mishap(3, ("13.00", "10.00"))  # 130%
    rated_mishap(4, ("75.00", "50.00"))  # 150% exactly
    # Over 150%, and anything paid for a stated loss of 0.
    rated_mishap(1, ("16.00", "10.00"))  # 160%
    rated_mishap(2, ("75.01", "50.00"))  # 150.02%
    rated_mishap(2, ("5.00", "0.00"))
    # In force, no loss stated anywhere on the ticket: in no band.
    rated_mishap(1, ("10.00", None))
    rated_mishap(2, ("10.00", None), ("5.00", None))

    metrics = trust_metrics(start=today(), end=today())

    assert [b["band"] for b in metrics.compensation_effectiveness] == [
        "none",
        "under_60",
        "60_120",
        "120_150",
        "over_150",
    ]
    assert [b["label"] for b in metrics.compensation_effectiveness] == [
        "No restitution",
        "Under 60% of the loss",
        "60–120% of the loss",  # noqa: RUF001
        "120–150% of the loss",  # noqa: RUF001
        "Over 150% of the loss",
    ]
    assert bands(metrics) == {
        "none": (4, 3.0),
        "under_60": (2, 2.5),
        "60_120": (4, 4.5),
        "120_150": (2, 3.5),
        "over_150": (3, 1.67),  # 5/3, rounded to 2 places
    }
    assert metrics.compensation_loss_not_stated == {"count": 2, "mean_rating": 1.5}


def test_compensation_counts_ratings_on_mishaps_given_in_the_range() -> None:
    with time_machine.travel(timezone.now() - timedelta(days=10), tick=False):
        rated_mishap(1, ("30.00", "50.00"))  # rated ten days ago: outside the range
    rated_mishap(5, ("30.00", "50.00"))
    question = advance(TicketFactory(kind=Kind.QUESTION), to="resolved")
    feedback_record(followup=question.followups.get(), rating=2)  # not a mishap

    metrics = trust_metrics(start=today(), end=today())

    assert bands(metrics)["60_120"] == (1, 5.0)
    assert sum(b["count"] for b in metrics.compensation_effectiveness) == 1
    assert metrics.compensation_loss_not_stated["count"] == 0
    earlier = trust_metrics(start=today() - timedelta(days=12), end=today())
    assert bands(earlier)["60_120"] == (2, 3.0)


@pytest.mark.parametrize("size", [1, 5])
def test_compensation_is_one_query_whatever_the_history(
    size: int, django_assert_num_queries: Any
) -> None:
    for n in range(size):
        rated_mishap(1 + n % 5, ("30.00", "50.00"), ("10.00", None))
        rated_mishap(3)
    since, until = _bounds(today(), today())

    with django_assert_num_queries(1):
        result = compensation_effectiveness(since=since, until=until)

    assert result.bands[2]["count"] == size  # 80% of the loss
    assert result.bands[0]["count"] == size


def test_the_bands_follow_the_grant_guidance() -> None:
    # The bands measure the guidance agents are shown when they grant.
    assert compensation.FROM_SHARE * 100 == restitutions.SUGGEST_FROM_PERCENT
    assert compensation.TO_SHARE * 100 == restitutions.SUGGEST_TO_PERCENT
    assert compensation.WARN_SHARE * 100 == restitutions.WARN_ABOVE_PERCENT


def test_the_endpoint_carries_the_compensation_table(supervisor: User) -> None:
    rated_mishap(4, ("30.00", "50.00"))
    rated_mishap(2, ("10.00", None))

    body = client_for(supervisor).get("/api/v1/metrics/trust/").json()

    table = body["compensation_effectiveness"]
    assert [(b["band"], b["count"], b["mean_rating"]) for b in table] == [
        ("none", 0, None),
        ("under_60", 0, None),
        ("60_120", 1, 4.0),
        ("120_150", 0, None),
        ("over_150", 0, None),
    ]
    assert [b["label"] for b in table] == [label for _, label in compensation.BANDS]
    assert body["compensation_loss_not_stated"] == {"count": 1, "mean_rating": 2.0}
