"""The daily rollups give the dashboard exactly the figures of the live
computation, for any range, and beat keeps them so."""

from datetime import date, timedelta
from io import StringIO
from random import Random
from statistics import median
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from recovery.metrics import rollup, trust_figures, trust_metrics
from recovery.metrics.daily import Waits
from recovery.metrics.rollup import daily_figures_rebuild
from recovery.models import (
    DailyCompensation,
    DailyFigures,
    DailyFiguresState,
    DailySpend,
    Restitution,
)
from recovery.tasks import refresh_daily_figures
from tests.helpers import today
from tests.recovery.desk_history import DAYS_WITH_DATA, SPAN, ZONE, at, ticket, varied_desk
from tests.recovery.reference_metrics import trust_metrics_live, trust_series
from tickets.models import Commitment, Kind, Ticket

# The desk in the history's time zone, whose days are not UTC's.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("desk_zone")]


def ranges() -> list[tuple[date, date]]:
    end = today(ZONE)
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
    metrics = trust_metrics_live(start=today(ZONE) - timedelta(days=SPAN), end=today(ZONE))

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
    assert state.history_from == today(ZONE) - timedelta(days=SPAN)
    assert DailyFigures.objects.filter(day__lte=today(ZONE)).count() == SPAN + 1
    # Tomorrow's promise; the follow-up due next week counts nothing until sent.
    assert DailyFigures.objects.filter(day__gt=today(ZONE)).count() == 1
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
    old = today(ZONE) - timedelta(days=SPAN - 2)
    ticket_of_old_day = Ticket.objects.filter(
        created_at__gte=at(old, 0), acknowledged_at__isnull=True
    ).first()
    assert ticket_of_old_day is not None

    # Acknowledged days late (saved, so updated_at moves), a first mishap for
    # a customer rated before, a promise fulfilled, a restitution voided.
    ticket_of_old_day.acknowledged_at = timezone.now()
    ticket_of_old_day.save(update_fields=["acknowledged_at", "updated_at"])
    ticket(at(today(ZONE), 1), kind=Kind.MISHAP, email=desk.late_mishap_customer.email)
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
    assert (today(ZONE) - timedelta(days=SPAN)).isoformat() in err.getvalue()
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
