"""The supervisor's trust dashboard: the figures of ``recovery.metrics`` for a
date range, as headline numbers, charts (Chart.js, drawn from a JSON blob) and
a CSV export. It reads only; the figures come from the daily rollups, so the
page costs the same queries whatever the size of the desk and the range."""

import csv
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from console.sites import console_site
from recovery.metrics import (
    DATE_RANGE_TEXT,
    EARLIEST_DATE,
    LATEST_DATE,
    TELLS_HAPPY,
    TELLS_RESOLVED,
    TELLS_UNHAPPY,
    AgentSpend,
    SeriesPoint,
    TrustMetrics,
    bucket_for,
    spend_against_budget,
    trust_figures,
)

PERMISSION = "recovery.view_trust_dashboard"
DEFAULT_DAYS = 30
QUICK_RANGES = (7, 30, 90)
MAX_DAYS = 366  # a leap year: enough to compare with last year, few enough points
EMPTY = "No data in this range yet."
NO_FIGURE = "—"


def _date_input() -> forms.DateInput:
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class RangeForm(forms.Form):
    start = forms.DateField(label="From", widget=_date_input())
    end = forms.DateField(label="To", widget=_date_input())

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("start"), cleaned.get("end")
        outside = [
            name
            for name, day in (("start", start), ("end", end))
            if day and not EARLIEST_DATE <= day <= LATEST_DATE
        ]
        for name in outside:
            self.add_error(name, f"Choose a date from {DATE_RANGE_TEXT}.")
        if start and end and not outside:
            if start > end:
                self.add_error("start", "The start date comes after the end date.")
            elif (end - start).days + 1 > MAX_DAYS:
                self.add_error(
                    "start",
                    f"Choose a range of {MAX_DAYS} days at most; "
                    f"this one has {(end - start).days + 1}.",
                )
        return cleaned


def _today() -> date:
    # The viewer's zone: StaffTimeZoneMiddleware activates it.
    return timezone.localdate()


def _range(days: int) -> tuple[date, date]:
    end = _today()
    return end - timedelta(days=days - 1), end


def range_form(request: HttpRequest) -> RangeForm:
    """The range from the query string; a missing end is today and a missing
    start 30 days before it, in the viewer's time zone."""
    default_start, default_end = _range(DEFAULT_DAYS)
    data = {
        "start": request.GET.get("start") or default_start.isoformat(),
        "end": request.GET.get("end") or default_end.isoformat(),
    }
    return RangeForm(data)


# --- what the page shows ------------------------------------------------------------


@dataclass(frozen=True)
class Figure:
    key: str  # the CSV's metric name
    label: str
    value: Any  # raw: a number, or None when there is nothing to count
    shown: str  # for people: "42%", "12 min", "—"
    detail: str = ""


def _percent(rate: float | None) -> str:
    return NO_FIGURE if rate is None else f"{rate * 100:.0f}%"


def _duration(minutes: float | None) -> str:
    if minutes is None:
        return NO_FIGURE
    if minutes < 1:
        return "under 1 min"
    if minutes < 90:
        return f"{minutes:.0f} min"
    if minutes < 48 * 60:
        return f"{minutes / 60:.1f} h"
    return f"{minutes / 1440:.1f} days"


def _number(value: float | None, places: int = 2) -> str:
    return NO_FIGURE if value is None else f"{value:.{places}f}"


def headline(metrics: TrustMetrics) -> list[Figure]:
    m = metrics
    hours = m.median_hours_to_approval
    return [
        Figure(
            "median_minutes_to_acknowledge",
            "Median time to acknowledge",
            m.median_minutes_to_acknowledge,
            _duration(m.median_minutes_to_acknowledge),
            "tickets opened in the range",
        ),
        Figure("mishaps", "Mishaps", m.mishaps, str(m.mishaps)),
        Figure(
            "apology_rate",
            "Apology rate",
            m.apology_rate,
            _percent(m.apology_rate),
            f"of {m.mishaps} mishap{'s' if m.mishaps != 1 else ''}",
        ),
        Figure(
            "promises_kept_rate",
            "Promises kept",
            m.promises_kept_rate,
            _percent(m.promises_kept_rate),
            f"by their due time, of {m.promises_due} due",
        ),
        Figure("promises_due", "Promises due", m.promises_due, str(m.promises_due)),
        Figure(
            "median_hours_to_approval",
            "Approval turnaround",
            hours,
            _duration(hours * 60 if hours is not None else None),
            "median, request to decision",
        ),
        Figure(
            "followup_delivery_rate",
            "Follow-up delivery",
            m.followup_delivery_rate,
            _percent(m.followup_delivery_rate),
            f"{m.followups_sent} sent, {m.followups_failed} failed",
        ),
        Figure("followups_sent", "Follow-ups sent", m.followups_sent, str(m.followups_sent)),
        Figure(
            "followups_failed", "Follow-ups failed", m.followups_failed, str(m.followups_failed)
        ),
        Figure(
            "followup_response_rate",
            "Follow-up response",
            m.followup_response_rate,
            _percent(m.followup_response_rate),
            "sent follow-ups the customer rated",
        ),
        Figure(
            "recovery_paradox_index",
            "Recovery paradox index",
            m.recovery_paradox_index,
            _number(m.recovery_paradox_index),
            f"average rating {_number(m.recovered_average_rating)} recovered "
            f"vs {_number(m.never_failed_average_rating)} never failed (of 5)",
        ),
        Figure(
            "recovered_average_rating",
            "Recovered customers' average rating",
            m.recovered_average_rating,
            _number(m.recovered_average_rating),
        ),
        Figure(
            "never_failed_average_rating",
            "Never-failed customers' average rating",
            m.never_failed_average_rating,
            _number(m.never_failed_average_rating),
        ),
        Figure(
            "repeat_failures",
            "Repeat failures",
            m.repeat_failures,
            str(m.repeat_failures),
            "a second mishap within the rebuilding period or 90 days",
        ),
        Figure(
            "word_of_mouth_happy_estimate",
            "Word of mouth, happy (estimate)",
            m.word_of_mouth["happy_tell"],
            str(m.word_of_mouth["happy_tell"]),
        ),
        Figure(
            "word_of_mouth_resolved_estimate",
            "Word of mouth, resolved (estimate)",
            m.word_of_mouth["resolved_tell"],
            str(m.word_of_mouth["resolved_tell"]),
        ),
        Figure(
            "word_of_mouth_unhappy_estimate",
            "Word of mouth, unhappy (estimate)",
            m.word_of_mouth["unhappy_tell"],
            str(m.word_of_mouth["unhappy_tell"]),
        ),
    ]


# Shown as cards on the page, in this order; the CSV has every figure.
CARDS = (
    "median_minutes_to_acknowledge",
    "apology_rate",
    "promises_kept_rate",
    "median_hours_to_approval",
    "followup_delivery_rate",
    "followup_response_rate",
    "recovery_paradox_index",
    "repeat_failures",
)


@dataclass(frozen=True)
class Dashboard:
    start: date
    end: date
    bucket: str
    metrics: TrustMetrics
    figures: list[Figure]
    budgets: list[AgentSpend]
    series: list[SeriesPoint]


def dashboard_for(start: date, end: date) -> Dashboard:
    bucket = bucket_for(start, end)
    metrics, series = trust_figures(start=start, end=end, bucket=bucket)
    return Dashboard(
        start=start,
        end=end,
        bucket=bucket,
        metrics=metrics,
        figures=headline(metrics),
        budgets=spend_against_budget(start=start, end=end, spend=metrics.restitution_spend),
        series=series,
    )


def _short_date(day: date) -> str:
    return f"{day.day} {day:%b}"


def _rate_percent(rate: float | None) -> float | None:
    return None if rate is None else round(rate * 100, 1)


def chart_data(board: Dashboard) -> dict[str, Any]:
    """What dashboard.js draws. Amounts become floats here for drawing only;
    the tables and the CSV show the Decimal amounts. A chart with nothing to
    draw is None, and the page shows its empty state instead."""
    m = board.metrics
    spent_anything = any(agent.spent for agent in board.budgets)
    currencies = {agent.currency for agent in board.budgets}
    by_kind: dict[str, float] = {}
    for row in m.restitution_spend:
        label = row["kind"].replace("_", " ")
        if len({r["currency"] for r in m.restitution_spend}) > 1:
            label = f"{label} ({row['currency']})"
        by_kind[label] = by_kind.get(label, 0.0) + float(row["total"])
    has_series = any(point.mishaps or point.promises_due for point in board.series)
    rated = m.recovered_average_rating is not None or m.never_failed_average_rating is not None
    word = m.word_of_mouth
    return {
        "budget": (
            {
                "labels": [
                    agent.username + (f" ({agent.currency})" if len(currencies) > 1 else "")
                    for agent in board.budgets
                ],
                "spent": [float(agent.spent) for agent in board.budgets],
                "budget": [float(agent.budget) for agent in board.budgets],
                "currency": next(iter(currencies)) if len(currencies) == 1 else "",
            }
            if spent_anything
            else None
        ),
        "kinds": ({"labels": list(by_kind), "totals": list(by_kind.values())} if by_kind else None),
        "series": (
            {
                "bucket": board.bucket,
                "labels": [_short_date(point.start) for point in board.series],
                "mishaps": [point.mishaps for point in board.series],
                "apology_rate": [_rate_percent(point.apology_rate) for point in board.series],
                "promises_kept_rate": [
                    _rate_percent(point.promises_kept_rate) for point in board.series
                ],
            }
            if has_series
            else None
        ),
        "ratings": (
            {
                "recovered": m.recovered_average_rating,
                "never_failed": m.never_failed_average_rating,
            }
            if rated
            else None
        ),
        "word_of_mouth": (
            {
                "happy": word["happy_tell"],
                "resolved": word["resolved_tell"],
                "unhappy": word["unhappy_tell"],
            }
            if any(word.values())
            else None
        ),
    }


def compensation_rows(metrics: TrustMetrics) -> list[dict[str, Any]]:
    """The compensation table's rows, the 5 bands in order, with the mean
    rating as people read it ("4.50", or "—" for a band nobody rated)."""
    return [
        {**band, "shown": _number(band["mean_rating"])}
        for band in metrics.compensation_effectiveness
    ]


# --- views ----------------------------------------------------------------------------


def _allowed(request: HttpRequest) -> None:
    if not request.user.has_perm(PERMISSION):
        raise PermissionDenied("The trust dashboard is for supervisors and admins.")


def _quick_links(current: tuple[date, date] | None) -> list[dict[str, Any]]:
    links = []
    for days in QUICK_RANGES:
        start, end = _range(days)
        query = urlencode({"start": start.isoformat(), "end": end.isoformat()})
        links.append(
            {
                "label": f"Last {days} days",
                "url": f"{reverse('console:dashboard')}?{query}",
                "current": current == (start, end),
            }
        )
    return links


def _page(request: HttpRequest, form: RangeForm, board: Dashboard | None) -> HttpResponse:
    context: dict[str, Any] = {
        **console_site.each_context(request),
        "title": "Trust dashboard",
        "form": form,
        "quick_links": _quick_links((board.start, board.end) if board else None),
        "empty_message": EMPTY,
    }
    if board is not None:
        figures = {figure.key: figure for figure in board.figures}
        word = board.metrics.word_of_mouth
        not_stated = board.metrics.compensation_loss_not_stated
        compensation = compensation_rows(board.metrics)
        context.update(
            {
                "board": board,
                "cards": [figures[key] for key in CARDS],
                "charts": chart_data(board),
                "export_url": reverse("console:dashboard_export")
                + "?"
                + urlencode({"start": board.start.isoformat(), "end": board.end.isoformat()}),
                "compensation": compensation,
                "compensation_rated": any(row["count"] for row in compensation)
                or bool(not_stated["count"]),
                "compensation_not_stated": {
                    **not_stated,
                    "shown": _number(not_stated["mean_rating"]),
                },
                "word_of_mouth": [
                    {
                        "label": "Happy: no mishap, rated 4 or 5",
                        "customers": word["happy_tell"] // TELLS_HAPPY,
                        "tells": f"about {TELLS_HAPPY}",
                        "estimate": word["happy_tell"],
                    },
                    {
                        "label": "Problem resolved: a mishap, rated 3 to 5",
                        "customers": word["resolved_tell"] // TELLS_RESOLVED,
                        "tells": f"4 to 6 ({TELLS_RESOLVED})",
                        "estimate": word["resolved_tell"],
                    },
                    {
                        "label": "Unhappy: rated 1 or 2",
                        "customers": word["unhappy_tell"] // TELLS_UNHAPPY,
                        "tells": f"9 to 15 ({TELLS_UNHAPPY})",
                        "estimate": word["unhappy_tell"],
                    },
                ],
            }
        )
    return TemplateResponse(
        request, "console/dashboard.html", context, status=200 if board else 400
    )


def dashboard_view(request: HttpRequest) -> HttpResponse:
    _allowed(request)
    form = range_form(request)
    if not form.is_valid():
        return _page(request, form, None)
    return _page(request, form, dashboard_for(form.cleaned_data["start"], form.cleaned_data["end"]))


# Spreadsheets run a cell that starts with one of these as a formula (OWASP
# "CSV injection"); usernames are typed by people, so quote every such cell.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> str:
    """Text that a spreadsheet would run as a formula gets a leading quote;
    numbers (a negative index included) stay numbers."""
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return str(value)
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(_FORMULA_STARTS) else text


def dashboard_export_view(request: HttpRequest) -> HttpResponse:
    """The figures as CSV, in four sections with a header row each and a
    blank row between: the headline figures, the spend, the series, the
    ratings by compensation band (then those with no loss stated). Rates
    are fractions (0.75), amounts decimal strings; a figure with nothing to
    count is an empty cell, not 0."""
    _allowed(request)
    form = range_form(request)
    if not form.is_valid():
        return _page(request, form, None)
    start, end = form.cleaned_data["start"], form.cleaned_data["end"]
    board = dashboard_for(start, end)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="trust-{start.isoformat()}-{end.isoformat()}.csv"'
    )
    writer = csv.writer(response)

    def row(*cells: Any) -> None:
        writer.writerow([csv_cell(cell) for cell in cells])

    row("metric", "value")
    row("start", start.isoformat())
    row("end", end.isoformat())
    for figure in board.figures:
        row(figure.key, figure.value)
    row()
    row("agent", "kind", "currency", "total", "budget")
    budgets = {agent.user: agent for agent in board.budgets}
    listed = set()
    for spend in board.metrics.restitution_spend:
        agent = budgets.get(spend["user"])
        same_currency = agent is not None and agent.currency == spend["currency"]
        row(
            spend["username"],
            spend["kind"],
            spend["currency"],
            spend["total"],
            agent.budget if agent is not None and same_currency else "",
        )
        listed.add(spend["user"])
    for agent in board.budgets:
        if agent.user not in listed:  # an agent who granted nothing still has a budget
            row(agent.username, "", agent.currency, "0.00", agent.budget)
    row()
    row(
        f"{board.bucket}_starting",
        "mishaps",
        "apologized",
        "apology_rate",
        "promises_due",
        "promises_kept",
        "promises_kept_rate",
    )
    for point in board.series:
        row(
            point.start.isoformat(),
            point.mishaps,
            point.apologized,
            point.apology_rate,
            point.promises_due,
            point.promises_kept,
            point.promises_kept_rate,
        )
    row()
    row("compensation_band", "ratings", "mean_rating")
    for band in board.metrics.compensation_effectiveness:
        row(band["band"], band["count"], band["mean_rating"])
    not_stated = board.metrics.compensation_loss_not_stated
    row("loss_not_stated", not_stated["count"], not_stated["mean_rating"])
    return response
