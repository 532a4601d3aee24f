"""Dashboard workloads: the trust figures over the API and the console's trust
dashboard, for 90 and 365 days ending on the newest generated ticket's day.

Both read the daily rollups (recovery/metrics/rollup.py). The untimed setup
builds them when this database has none (as ``rebuild_daily_figures`` would)
and says on stderr how long that took. Each floor is one SQL query over the
rollup tables, on the same connection: the sums, spend by person and kind,
ratings by band, and the stored waits the two medians are taken over (it
fetches them; it does not pick the medians out of them), without the
page's rendering.
"""

import sys
from collections.abc import Callable
from datetime import date, timedelta
from time import monotonic

from django.conf import settings
from django.db.models import Max
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from bench.measure import Result
from bench.staff import SUPERVISOR_PREFIX
from bench.workloads import Context, workload
from bench.workloads.read.measuring import (
    MissingData,
    api_client,
    generated_staff,
    get_call,
    measure_read,
    raw_call,
)
from recovery.metrics.rollup import daily_figures_rebuild
from recovery.models import DailyFiguresState
from tickets.models import Ticket

DASHBOARD_TARGETS: dict[str, float] = {"p95_ms": 200}

FLOOR_SQL = """
WITH d AS (
  SELECT * FROM recovery_dailyfigures WHERE day BETWEEN %(start)s AND %(end)s
)
SELECT
  (SELECT json_build_object(
     'mishaps', sum(mishaps), 'apologized', sum(apologized),
     'repeat_failures', sum(repeat_failures),
     'promises_due', sum(promises_due), 'promises_kept', sum(promises_kept),
     'sent', sum(followups_sent), 'failed', sum(followups_failed),
     'answered', sum(followups_answered),
     'recovered', sum(recovered_rating_sum)::float / nullif(sum(recovered_ratings), 0),
     'never_failed', sum(never_failed_rating_sum)::float / nullif(sum(never_failed_ratings), 0),
     'happy', sum(happy), 'resolved', sum(resolved), 'unhappy', sum(unhappy)) FROM d),
  (SELECT array_agg(acknowledge_waits) FROM d),
  (SELECT array_agg(approval_waits) FROM d),
  (SELECT json_agg(s) FROM (
     SELECT s.user_id, u.username, s.kind, s.currency, sum(s.total) AS total
     FROM recovery_dailyspend s JOIN accounts_user u ON u.id = s.user_id
     WHERE s.day BETWEEN %(start)s AND %(end)s
     GROUP BY 1, 2, 3, 4 ORDER BY 2, 3, 4) s),
  (SELECT json_agg(b) FROM (
     SELECT band, sum(ratings) AS ratings, sum(rating_sum) AS rating_sum
     FROM recovery_dailycompensation WHERE day BETWEEN %(start)s AND %(end)s
     GROUP BY band) b)
"""


def _rollups_built() -> None:
    """Builds the rollups, untimed, when this database has none in this zone."""
    if DailyFiguresState.objects.filter(history_built=True, time_zone=settings.TIME_ZONE).exists():
        return
    began = monotonic()
    days = daily_figures_rebuild()
    print(
        f"dashboard: built the daily rollups ({days} days) in {monotonic() - began:.1f} s",
        file=sys.stderr,
    )


def _range(days: int) -> tuple[date, date]:
    newest = Ticket.objects.aggregate(newest=Max("created_at"))["newest"]
    if newest is None:
        raise MissingData("No tickets here: run `manage.py generate_load_data` first.")
    end = timezone.localtime(newest, timezone.get_default_timezone()).date()
    return end - timedelta(days=days - 1), end


def _floor(start: date, end: date) -> Callable[[], object]:
    return raw_call(FLOOR_SQL, {"start": start, "end": end})


def _metrics_api(name: str, days: int, context: Context) -> Result:
    supervisor = generated_staff(SUPERVISOR_PREFIX)
    _rollups_built()
    start, end = _range(days)
    return measure_read(
        name,
        f"API trust figures, {days} days to {end.isoformat()}, as a supervisor",
        context,
        get_call(
            api_client(supervisor),
            "/api/v1/metrics/trust/",
            {"start": start.isoformat(), "end": end.isoformat()},
        ),
        _floor(start, end),
        DASHBOARD_TARGETS,
        ["the floor sums the stored days in one query and fetches their waits"],
    )


def _dashboard_console(name: str, days: int, context: Context) -> Result:
    supervisor = generated_staff(SUPERVISOR_PREFIX)
    _rollups_built()
    start, end = _range(days)
    client = Client()
    client.force_login(supervisor)
    return measure_read(
        name,
        f"Console trust dashboard, {days} days to {end.isoformat()}, signed-in supervisor",
        context,
        get_call(
            client,
            reverse("console:dashboard"),
            {"start": start.isoformat(), "end": end.isoformat()},
        ),
        _floor(start, end),
        DASHBOARD_TARGETS,
        ["the floor sums the stored days in one query; the page also renders HTML and charts"],
    )


@workload("metrics_api_90d")
def metrics_api_90d(context: Context) -> Result:
    return _metrics_api("metrics_api_90d", 90, context)


@workload("metrics_api_365d")
def metrics_api_365d(context: Context) -> Result:
    return _metrics_api("metrics_api_365d", 365, context)


@workload("dashboard_console_90d")
def dashboard_console_90d(context: Context) -> Result:
    return _dashboard_console("dashboard_console_90d", 90, context)


@workload("dashboard_console_365d")
def dashboard_console_365d(context: Context) -> Result:
    return _dashboard_console("dashboard_console_365d", 365, context)
