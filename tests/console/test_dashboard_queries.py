"""The trust dashboard costs a fixed number of queries, whatever the range and
the size of the desk, once the daily rollups hold the history."""

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import User
from console.dashboard.figures import dashboard_for
from recovery.metrics.rollup import daily_figures_rebuild
from tests.helpers import console_client, today
from tests.recovery.desk_history import ZONE, at, grant, older_history, ticket
from tickets.models import Kind

# The desk in the history's time zone, whose days are not UTC's.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("desk_zone")]

# The rollups' state, the stored days, their spend and their bands (4),
# people, their groups and their policies (3). The page adds the signed-in
# user's and the menu's (see test_dashboard.py).
BOARD_QUERIES = 7
RANGES = (90, 365)
PAGES = ("console:dashboard", "console:dashboard_export")


@pytest.mark.parametrize("history_days", [30, 400])
@pytest.mark.parametrize("range_days", RANGES)
def test_the_board_costs_the_same_queries_whatever_the_range_and_the_history(
    history_days: int, range_days: int, django_assert_num_queries: Any
) -> None:
    older_history(history_days)
    daily_figures_rebuild()

    with django_assert_num_queries(BOARD_QUERIES):
        board = dashboard_for(today(ZONE) - timedelta(days=range_days - 1), today(ZONE))

    assert board.metrics.mishaps > 0
    assert board.budgets


def test_the_page_and_the_export_cost_the_same_queries_at_both_sizes_and_ranges(
    supervisor: User,
) -> None:
    def queries(page: str, range_days: int) -> int:
        client = console_client(User.objects.get(pk=supervisor.pk))
        start = today(ZONE) - timedelta(days=range_days - 1)
        with CaptureQueriesContext(connection) as captured:
            response = client.get(
                reverse(page), {"start": start.isoformat(), "end": today(ZONE).isoformat()}
            )
        assert response.status_code == 200
        return len(captured)

    older_history(30)
    daily_figures_rebuild()
    small = {(page, days): queries(page, days) for page in PAGES for days in RANGES}
    for n in range(400, 800, 2):  # ten times the history, further back
        older_history_day(n)
    daily_figures_rebuild()
    large = {(page, days): queries(page, days) for page in PAGES for days in RANGES}

    assert small == large
    for page in PAGES:
        assert small[page, 90] == small[page, 365] > BOARD_QUERIES


def older_history_day(days_ago: int) -> None:
    agent = User.objects.get(username="zed")
    day = today(ZONE) - timedelta(days=days_ago)
    mishap = ticket(at(day, 10), kind=Kind.MISHAP, ack_minutes=days_ago % 90)
    grant(mishap, agent, "12.00", when=at(day, 11), loss="10.00")
