"""The dashboard's date range, one rule for the console page and the API
(recovery/metrics/ranges.py): the limits counted with both ends, the default
range on the desk's clock, ending today in the zone each caller names."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from core import clock
from recovery.metrics.ranges import (
    API_MAX_DAYS,
    PAGE_MAX_DAYS,
    date_error,
    default_range,
    range_error,
)
from tests.helpers import client_for, console_client

# 20:00 in UTC (the deployment's zone in tests) is already the 11th at UTC+14.
EVENING = datetime(2026, 3, 10, 20, 0, tzinfo=ZoneInfo("UTC"))
KIRITIMATI = ZoneInfo("Pacific/Kiritimati")


@pytest.mark.parametrize("max_days", [PAGE_MAX_DAYS, API_MAX_DAYS])
def test_a_range_may_have_the_limit_s_days_counting_both_ends(max_days: int) -> None:
    start = date(2010, 1, 1)

    assert range_error(start, start + timedelta(days=max_days - 1), max_days=max_days) is None
    assert range_error(start, start + timedelta(days=max_days), max_days=max_days) == (
        f"Choose a range of {max_days} days at most; this one has {max_days + 1}."
    )


def test_a_range_that_ends_before_it_starts_is_refused_whatever_the_limit() -> None:
    assert range_error(date(2026, 5, 2), date(2026, 5, 1), max_days=API_MAX_DAYS) == (
        "The start date comes after the end date."
    )


def test_only_the_dates_the_rollups_hold_are_ends_of_a_range() -> None:
    assert date_error(date(2000, 1, 1)) is None
    assert date_error(date(2100, 12, 31)) is None
    assert date_error(date(1999, 12, 31)) == "Choose a date from 2000-01-01 to 2100-12-31."


def test_the_default_range_ends_today_on_the_desk_s_clock_in_the_zone_asked() -> None:
    with clock.frozen(EVENING), timezone.override(KIRITIMATI):
        viewer = default_range()
        deployment = default_range(zone=timezone.get_default_timezone())

    assert viewer == (date(2026, 2, 10), date(2026, 3, 11))
    assert deployment == (date(2026, 2, 9), date(2026, 3, 10))


@pytest.mark.django_db
def test_the_api_s_default_range_is_the_deployment_s_on_the_desk_s_clock(
    supervisor: User,
) -> None:
    User.objects.filter(pk=supervisor.pk).update(time_zone="Pacific/Kiritimati")
    supervisor.refresh_from_db()

    with clock.frozen(EVENING):
        body = client_for(supervisor).get("/api/v1/metrics/trust/").json()

    assert (body["start"], body["end"]) == ("2026-02-09", "2026-03-10")


@pytest.mark.django_db
def test_the_page_s_default_range_is_the_viewer_s_on_the_desk_s_clock(supervisor: User) -> None:
    User.objects.filter(pk=supervisor.pk).update(time_zone="Pacific/Kiritimati")

    with clock.frozen(EVENING):
        response = console_client(supervisor).get(reverse("console:dashboard"))

    board = response.context["board"]
    assert (board.start, board.end) == (date(2026, 2, 10), date(2026, 3, 11))


@pytest.mark.django_db
def test_the_api_refuses_a_day_past_its_limit_with_a_422_naming_it(supervisor: User) -> None:
    start = date(2010, 1, 1)
    end = start + timedelta(days=API_MAX_DAYS)

    response = client_for(supervisor).get(
        "/api/v1/metrics/trust/", {"start": start.isoformat(), "end": end.isoformat()}
    )

    assert response.status_code == 422
    assert response.json()["errors"] == {
        "start": [
            f"Choose a range of {API_MAX_DAYS} days at most; this one has {API_MAX_DAYS + 1}."
        ]
    }
