"""The supervisor's trust dashboard: charts, a date range, a CSV export."""

import csv
import io
import json
import re
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.staticfiles import finders
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from accounts.roles import Role
from console.dashboard.export import csv_cell
from tests.factories import StaffFactory, TicketFactory, advance
from tests.helpers import console_client, today
from tests.recovery.desk_history import mishap_with_grant
from tickets.models import Kind

if TYPE_CHECKING:
    from django.test.client import _MonkeyPatchedWSGIResponse

CHART_JS = "vendor/chart.js/chart.umd.min.js"
DASHBOARD = reverse("console:dashboard")
EXPORT = reverse("console:dashboard_export")
DASHBOARD_QUERIES = 13


def last(days: int) -> dict[str, str]:
    return {
        "start": (today() - timedelta(days=days - 1)).isoformat(),
        "end": today().isoformat(),
    }


def chart_data(response: "_MonkeyPatchedWSGIResponse") -> dict[str, Any]:
    match = re.search(
        r'<script id="dashboard-data" type="application/json">(.*?)</script>',
        response.content.decode(),
        re.S,
    )
    assert match, "the page embeds no chart data"
    data: dict[str, Any] = json.loads(match.group(1))
    return data


def csv_sections(response: "_MonkeyPatchedWSGIResponse") -> list[list[list[str]]]:
    """The export's sections (split at blank rows), each a header row and rows."""
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    sections: list[list[list[str]]] = [[]]
    for row in rows:
        if row:
            sections[-1].append(row)
        else:
            sections.append([])
    return sections


# --- the chart library -------------------------------------------------------------------


def test_chart_js_is_installed_and_found_by_staticfiles() -> None:
    # npm ci (scripts/lib.sh ensure_node_modules) put it there; without it the
    # dashboard has no charts, so fail loudly rather than show empty canvases.
    found = finders.find(CHART_JS)

    assert found, f"{CHART_JS} not found: run `npm ci` (Node.js 18+) at the repository root."
    assert "Chart.js v4." in Path(str(found)).read_text(encoding="utf-8")[:400]


@pytest.mark.django_db
def test_the_page_loads_chart_js_from_our_own_static_files(supervisor: User) -> None:
    body = console_client(supervisor).get(DASHBOARD).content.decode()

    sources = re.findall(r'<script[^>]*\bsrc="([^"]+)"', body)
    assert f"/static/{CHART_JS}" in sources
    assert "/static/console/dashboard.js" in sources
    assert not [src for src in sources if src.startswith(("http:", "https:", "//"))]
    assert "cdn" not in body.lower()
    assert not re.search(r"\son[a-z]+\s*=", body)  # no inline event handlers


# --- who may see it -------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("url", [DASHBOARD, EXPORT])
def test_anonymous_visitors_are_asked_to_sign_in(url: str) -> None:
    response = Client().get(url)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("console:login"))


@pytest.mark.django_db
@pytest.mark.parametrize("url", [DASHBOARD, EXPORT])
def test_an_agent_is_refused_with_the_console_s_permission_page(agent: User, url: str) -> None:
    response = console_client(agent).get(url)

    assert response.status_code == 403
    assert "You do not have permission to see this page." in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("role", [Role.SUPERVISOR, Role.ADMIN])
def test_supervisors_and_admins_see_it_and_find_it_in_the_menu(role: Role) -> None:
    response = console_client(StaffFactory(role=role)).get(DASHBOARD)

    assert response.status_code == 200
    assert {"label": "Trust dashboard", "url": DASHBOARD, "current": True} in response.context[
        "console_menu"
    ]


@pytest.mark.django_db
def test_an_agent_has_no_dashboard_in_the_menu(agent: User) -> None:
    response = console_client(agent).get(reverse("console:tickets_ticket_changelist"))

    assert "Trust dashboard" not in response.content.decode()


# --- the range ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_default_range_is_the_last_30_days_in_the_viewer_s_time_zone(
    supervisor: User,
) -> None:
    User.objects.filter(pk=supervisor.pk).update(time_zone="Pacific/Kiritimati")  # UTC+14
    # 20:00 in UTC (the deployment's zone in tests) is already the 11th there.
    with time_machine.travel(datetime(2026, 3, 10, 20, 0, tzinfo=ZoneInfo("UTC")), tick=False):
        response = console_client(supervisor).get(DASHBOARD)

    board = response.context["board"]
    assert (board.start, board.end) == (date(2026, 2, 10), date(2026, 3, 11))
    body = response.content.decode()
    assert 'value="2026-02-10"' in body
    assert 'value="2026-03-11"' in body
    assert "Last 90 days" in body


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"start": "yesterday", "end": "2026-05-01"}, "Enter a valid date."),
        ({"start": "2026-05-01", "end": "2026-02-30"}, "Enter a valid date."),
        ({"start": "2026-05-02", "end": "2026-05-01"}, "The start date comes after the end date."),
        (
            {"start": "2025-01-01", "end": "2026-01-02"},
            "Choose a range of 366 days at most; this one has 367.",
        ),
    ],
)
@pytest.mark.parametrize("url", [DASHBOARD, EXPORT])
def test_a_bad_range_shows_the_form_with_the_error(
    supervisor: User, url: str, query: dict[str, str], message: str
) -> None:
    response = console_client(supervisor).get(url, query)

    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")
    body = response.content.decode()
    assert message in body
    assert 'id="dashboard-data"' not in body
    assert "Last 30 days" in body  # the way back is on the page


@pytest.mark.django_db
def test_a_leap_year_is_not_too_long(supervisor: User) -> None:
    response = console_client(supervisor).get(
        DASHBOARD, {"start": "2024-01-01", "end": "2024-12-31"}
    )

    assert response.status_code == 200
    assert response.context["board"].bucket == "week"


# --- the figures ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_new_desk_says_there_is_no_data_rather_than_drawing_zeros(supervisor: User) -> None:
    response = console_client(supervisor).get(DASHBOARD)

    body = response.content.decode()
    assert response.status_code == 200
    assert "No data in this range yet." in body
    assert not re.search(r"(?<![\d.])0%", body)  # no 0% rate (the guidance's 120% is no rate)
    assert "No customer rated us after a mishap." in body
    assert "compensation-table" not in body
    cards = {card.key: card.shown for card in response.context["cards"]}
    assert cards["apology_rate"] == "—"
    assert cards["promises_kept_rate"] == "—"
    assert cards["median_minutes_to_acknowledge"] == "—"
    assert cards["recovery_paradox_index"] == "—"
    data = chart_data(response)
    assert data["series"] is None
    assert data["kinds"] is None
    assert data["ratings"] is None
    assert data["budget"] is None  # nobody spent anything: no bars of zero
    assert 'id="chart-series"' not in body


@pytest.mark.django_db
def test_the_figures_of_a_busy_range_are_on_the_page(supervisor: User) -> None:
    agent = StaffFactory(role=Role.AGENT, username="casey")
    mishap_with_grant(agent, "20.00", kind="refund", rating=5)
    mishap_with_grant(agent, "15.00", kind="credit", rating=2)
    advance(TicketFactory(actor=agent, kind=Kind.MISHAP), to="acknowledged")  # no apology yet
    question = advance(TicketFactory(actor=agent, kind=Kind.QUESTION), to="resolved")
    assert question.kind == Kind.QUESTION

    response = console_client(supervisor).get(DASHBOARD, last(7))

    assert response.status_code == 200
    body = response.content.decode()
    cards = {card.key: card for card in response.context["cards"]}
    assert cards["apology_rate"].shown == "67%"
    assert cards["apology_rate"].detail == "of 3 mishaps"
    assert cards["median_minutes_to_acknowledge"].shown == "under 1 min"
    assert cards["repeat_failures"].shown == "0"  # each ticket has a customer of its own
    assert "35.00 USD" in body  # casey's spend
    assert "200.00 USD" in body  # casey's budget for 7 days of a weekly 200
    assert "Word of mouth (estimate)" in body
    assert "estimate from commonly cited figures" in body.lower()
    data = chart_data(response)
    assert data["budget"]["labels"] == ["casey"]
    assert data["budget"]["spent"] == [35.0]
    assert data["budget"]["budget"] == [200.0]
    assert dict(zip(data["kinds"]["labels"], data["kinds"]["totals"], strict=True)) == {
        "refund": 20.0,
        "credit": 15.0,
    }
    assert data["ratings"] == {"recovered": 3.5, "never_failed": None}
    assert data["word_of_mouth"] == {"happy": 0, "resolved": 5, "unhappy": 12}
    assert sum(data["series"]["mishaps"]) == 3
    assert data["series"]["bucket"] == "day"
    assert len(data["series"]["labels"]) == 7


@pytest.mark.django_db
def test_the_budget_is_the_weekly_limit_pro_rata_for_the_range(supervisor: User) -> None:
    agent = StaffFactory(role=Role.AGENT)  # the role's default: 200.00 a week
    client = console_client(supervisor)

    week = client.get(DASHBOARD, last(7)).context["board"].budgets
    month = client.get(DASHBOARD, last(30)).context["board"].budgets

    assert [(a.username, str(a.budget)) for a in week] == [(agent.username, "200.00")]
    assert [(a.username, str(a.budget)) for a in month] == [(agent.username, "857.14")]  # 30/7


@pytest.mark.django_db
def test_the_series_follows_the_weeks_of_a_long_range(supervisor: User) -> None:
    now = timezone.now()
    for weeks_ago in (0, 3, 3, 8):
        with time_machine.travel(now - timedelta(weeks=weeks_ago), tick=False):
            TicketFactory(kind=Kind.MISHAP)

    data = chart_data(console_client(supervisor).get(DASHBOARD, last(90)))

    series = data["series"]
    assert series["bucket"] == "week"
    assert 13 <= len(series["labels"]) <= 14
    assert sum(series["mishaps"]) == 4
    assert sorted(series["mishaps"])[-1] == 2
    assert series["apology_rate"].count(0.0) == 3  # weeks with mishaps, none apologized
    assert series["apology_rate"].count(None) == len(series["labels"]) - 3  # weeks without


@pytest.mark.django_db
def test_the_page_costs_the_same_queries_with_one_agent_or_twenty(supervisor: User) -> None:
    def queries() -> int:
        client = console_client(User.objects.get(pk=supervisor.pk))
        with CaptureQueriesContext(connection) as captured:
            assert client.get(DASHBOARD, last(30)).status_code == 200
        return len(captured)

    mishap_with_grant(StaffFactory(role=Role.AGENT), "10.00")
    one = queries()
    for n in range(19):
        mishap_with_grant(StaffFactory(role=Role.AGENT), f"{n + 1}.00", kind="credit")
        advance(TicketFactory(kind=Kind.QUESTION), to="resolved")
    twenty = queries()

    assert one == twenty
    # The user with their groups, permissions and the menu's counts (1; the
    # session is read from the cache), figures and series (7), people, their
    # groups and their policies (3).
    assert one == DASHBOARD_QUERIES


def known_compensation(agent: User) -> None:
    """Ratings in three bands and one with no loss stated."""
    mishap_with_grant(agent, None, rating=3)
    mishap_with_grant(agent, None, rating=4)
    mishap_with_grant(agent, "20.00", loss="25.00", rating=5)  # 80% of the loss
    mishap_with_grant(agent, "10.00", loss="50.00", rating=1)  # 20%
    mishap_with_grant(agent, "10.00", rating=2)  # no loss stated


@pytest.mark.django_db
def test_the_compensation_table_shows_ratings_by_band(supervisor: User) -> None:
    known_compensation(StaffFactory(role=Role.AGENT))

    response = console_client(supervisor).get(DASHBOARD, last(7))

    body = response.content.decode()
    assert "Compensation and ratings" in body
    assert "60–120% of the customer's loss helps most" in body  # noqa: RUF001
    assert "past 150% it stops helping" in body
    rows = re.findall(
        r'<tr data-band="([\w]+)"><td>([^<]+)</td><td class="num">(\d+)</td>'
        r'<td class="num">([^<]+)</td></tr>',
        body,
    )
    assert rows == [
        ("none", "No restitution", "2", "3.50"),
        ("under_60", "Under 60% of the loss", "1", "1.00"),
        ("60_120", "60–120% of the loss", "1", "5.00"),  # noqa: RUF001
        ("120_150", "120–150% of the loss", "0", "—"),  # noqa: RUF001
        ("over_150", "Over 150% of the loss", "0", "—"),
    ]
    assert "Restitution with no loss stated, so in no band: 1 rating, mean 2.00." in body


# --- the export -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_export_is_a_csv_file_of_the_figures_spend_and_series(supervisor: User) -> None:
    agent = StaffFactory(role=Role.AGENT, username="casey")
    idle = StaffFactory(role=Role.AGENT, username="drew")
    mishap_with_grant(agent, "20.00", kind="refund", rating=5)
    query = last(7)

    response = console_client(supervisor).get(EXPORT, query)

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        f'attachment; filename="trust-{query["start"]}-{query["end"]}.csv"'
    )
    figures, spend, series, _ = csv_sections(response)
    assert figures[0] == ["metric", "value"]
    values = dict(figures[1:])
    assert values["start"] == query["start"]
    assert values["end"] == query["end"]
    assert values["mishaps"] == "1"
    assert values["apology_rate"] == "1.0"
    assert values["median_hours_to_approval"] == ""  # nothing to count: empty, not 0
    assert values["recovered_average_rating"] == "5.0"
    assert values["word_of_mouth_resolved_estimate"] == "5"
    assert spend == [
        ["agent", "kind", "currency", "total", "budget"],
        ["casey", "refund", "USD", "20.00", "200.00"],
        [idle.username, "", "USD", "0.00", "200.00"],
    ]
    assert series[0][0] == "day_starting"
    assert len(series) == 1 + 7
    assert sum(int(row[1]) for row in series[1:]) == 1


@pytest.mark.django_db
def test_the_export_ends_with_ratings_by_compensation_band(supervisor: User) -> None:
    known_compensation(StaffFactory(role=Role.AGENT))

    sections = csv_sections(console_client(supervisor).get(EXPORT, last(7)))

    assert len(sections) == 4
    assert sections[-1] == [
        ["compensation_band", "ratings", "mean_rating"],
        ["none", "2", "3.5"],
        ["under_60", "1", "1.0"],
        ["60_120", "1", "5.0"],
        ["120_150", "0", ""],
        ["over_150", "0", ""],
        ["loss_not_stated", "1", "2.0"],
    ]


@pytest.mark.django_db
def test_the_export_defuses_formulas_in_usernames(supervisor: User) -> None:
    for n, name in enumerate(("@evil", "-2+3", "+cmd")):
        user = StaffFactory(role=Role.AGENT, username=name, email=f"user{n}@staff.example")
        mishap_with_grant(user, "5.00")

    _, spend, _, _ = csv_sections(console_client(supervisor).get(EXPORT, last(7)))

    agents = {row[0] for row in spend[1:]}
    assert agents == {"'@evil", "'-2+3", "'+cmd"}


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("casey", "casey"),
        ("12.50", "12.50"),
        (None, ""),
        (0.5, "0.5"),
    ],
)
def test_csv_cells_that_a_spreadsheet_would_run_are_quoted(value: Any, cell: str) -> None:
    assert csv_cell(value) == cell


def test_csv_cells_quote_formulas_but_keep_negative_numbers() -> None:
    from decimal import Decimal

    from console.dashboard.export import csv_cell

    assert csv_cell(-0.42) == "-0.42"
    assert csv_cell(Decimal("-3.50")) == "-3.50"
    assert csv_cell("-cmd") == "'-cmd"
    assert csv_cell("=1+1") == "'=1+1"


@pytest.mark.django_db
def test_a_far_future_range_is_refused_not_a_500(supervisor: User) -> None:
    client = console_client(supervisor)

    page = client.get(DASHBOARD, {"start": "9999-01-01", "end": "9999-12-31"})
    export = client.get(
        reverse("console:dashboard_export"), {"start": "9999-01-01", "end": "9999-12-31"}
    )

    assert page.status_code == 400
    assert "Choose a date from 2000-01-01 to 2100-12-31." in page.content.decode()
    assert export.status_code == 400
