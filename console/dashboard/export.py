"""The dashboard's figures as CSV, in four sections with a header row each
and a blank row between: the headline figures, the spend, the series, the
ratings by compensation band (then those with no loss stated). Cells a
spreadsheet would run as a formula are quoted."""

import csv
from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import Any

from django.http import HttpRequest, HttpResponse

from console.dashboard.figures import Dashboard, dashboard_for
from console.dashboard.ranges import range_form
from console.dashboard.views import allowed, page

# Spreadsheets run a cell that starts with one of these as a formula (OWASP
# "CSV injection"); usernames are typed by people, so quote every such cell.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

Row = Sequence[Any]


def csv_cell(value: Any) -> str:
    """Text that a spreadsheet would run as a formula gets a leading quote;
    numbers (a negative index included) stay numbers."""
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return str(value)
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(_FORMULA_STARTS) else text


def dashboard_export_view(request: HttpRequest) -> HttpResponse:
    """The CSV of the range asked for. Rates are fractions (0.75), amounts
    decimal strings; a figure with nothing to count is an empty cell, not 0."""
    allowed(request)
    form = range_form(request)
    if not form.is_valid():
        return page(request, form, None)
    start, end = form.cleaned_data["start"], form.cleaned_data["end"]
    board = dashboard_for(start, end)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="trust-{start.isoformat()}-{end.isoformat()}.csv"'
    )
    writer = csv.writer(response)
    sections = (_figures, _spend, _series, _compensation)
    for index, section in enumerate(sections):
        if index:
            writer.writerow([])
        for cells in section(board):
            writer.writerow([csv_cell(cell) for cell in cells])
    return response


def _figures(board: Dashboard) -> Iterator[Row]:
    yield ("metric", "value")
    yield ("start", board.start.isoformat())
    yield ("end", board.end.isoformat())
    for figure in board.figures:
        yield (figure.key, figure.value)


def _spend(board: Dashboard) -> Iterator[Row]:
    """Each agent's spend by kind beside their budget (where in the same
    currency), then the agents who granted nothing, who still have one."""
    yield ("agent", "kind", "currency", "total", "budget")
    budgets = {agent.user: agent for agent in board.budgets}
    listed = set()
    for spend in board.metrics.restitution_spend:
        agent = budgets.get(spend["user"])
        same_currency = agent is not None and agent.currency == spend["currency"]
        yield (
            spend["username"],
            spend["kind"],
            spend["currency"],
            spend["total"],
            agent.budget if agent is not None and same_currency else "",
        )
        listed.add(spend["user"])
    for agent in board.budgets:
        if agent.user not in listed:
            yield (agent.username, "", agent.currency, "0.00", agent.budget)


def _series(board: Dashboard) -> Iterator[Row]:
    yield (
        f"{board.bucket}_starting",
        "mishaps",
        "apologized",
        "apology_rate",
        "promises_due",
        "promises_kept",
        "promises_kept_rate",
    )
    for point in board.series:
        yield (
            point.start.isoformat(),
            point.mishaps,
            point.apologized,
            point.apology_rate,
            point.promises_due,
            point.promises_kept,
            point.promises_kept_rate,
        )


def _compensation(board: Dashboard) -> Iterator[Row]:
    yield ("compensation_band", "ratings", "mean_rating")
    for band in board.metrics.compensation_effectiveness:
        yield (band["band"], band["count"], band["mean_rating"])
    not_stated = board.metrics.compensation_loss_not_stated
    yield ("loss_not_stated", not_stated["count"], not_stated["mean_rating"])
