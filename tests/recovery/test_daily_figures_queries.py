"""The figures of a range cost a fixed number of queries, whatever the range
and the size of the desk, once the daily rollups hold the history."""

from datetime import timedelta
from typing import Any

import pytest

from accounts.models import User
from recovery.metrics import trust_metrics
from recovery.metrics.rollup import daily_figures_rebuild
from tests.helpers import client_for, today
from tests.recovery.desk_history import ZONE, older_history
from tests.recovery.reference_metrics import trust_metrics_live

# The desk in the history's time zone, whose days are not UTC's.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("desk_zone")]

# Permissions (1); the rollups' state, the stored days, their spend and their
# compensation bands (4).
METRICS_QUERIES = 5


@pytest.mark.parametrize("history_days", [30, 400])
@pytest.mark.parametrize("range_days", [90, 365])
def test_the_api_costs_the_same_queries_whatever_the_range_and_the_history(
    supervisor: User, history_days: int, range_days: int, django_assert_num_queries: Any
) -> None:
    older_history(history_days)
    daily_figures_rebuild()
    start = today(ZONE) - timedelta(days=range_days - 1)
    client = client_for(supervisor)

    with django_assert_num_queries(METRICS_QUERIES):
        response = client.get(
            "/api/v1/metrics/trust/", {"start": start.isoformat(), "end": today(ZONE).isoformat()}
        )

    assert response.status_code == 200
    live = trust_metrics_live(start=start, end=today(ZONE))
    assert response.json()["mishaps"] == live.mishaps > 0
    assert trust_metrics(start=start, end=today(ZONE)) == live
