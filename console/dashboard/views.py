"""The dashboard's page: the range form, quick links to the last 7, 30 and
90 days, the cards, charts and tables of a valid range (a form with its
errors, status 400, otherwise)."""

from datetime import date
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import urlencode

from console.dashboard.charts import chart_data
from console.dashboard.figures import (
    CARDS,
    Dashboard,
    compensation_rows,
    dashboard_for,
    number,
    word_of_mouth_rows,
)
from console.dashboard.ranges import QUICK_RANGES, RangeForm, range_form
from console.sites import console_site
from recovery.metrics.ranges import last_days

PERMISSION = "recovery.view_trust_dashboard"
EMPTY = "No data in this range yet."


def allowed(request: HttpRequest) -> None:
    if not request.user.has_perm(PERMISSION):
        raise PermissionDenied("The trust dashboard is for supervisors and admins.")


def _quick_links(current: tuple[date, date] | None) -> list[dict[str, Any]]:
    links = []
    for days in QUICK_RANGES:
        start, end = last_days(days)
        query = urlencode({"start": start.isoformat(), "end": end.isoformat()})
        links.append(
            {
                "label": f"Last {days} days",
                "url": f"{reverse('console:dashboard')}?{query}",
                "current": current == (start, end),
            }
        )
    return links


def _board_context(board: Dashboard) -> dict[str, Any]:
    figures = {figure.key: figure for figure in board.figures}
    not_stated = board.metrics.compensation_loss_not_stated
    compensation = compensation_rows(board.metrics)
    query = urlencode({"start": board.start.isoformat(), "end": board.end.isoformat()})
    return {
        "board": board,
        "cards": [figures[key] for key in CARDS],
        "charts": chart_data(board),
        "export_url": reverse("console:dashboard_export") + "?" + query,
        "compensation": compensation,
        "compensation_rated": any(row["count"] for row in compensation)
        or bool(not_stated["count"]),
        "compensation_not_stated": {**not_stated, "shown": number(not_stated["mean_rating"])},
        "word_of_mouth": word_of_mouth_rows(board.metrics.word_of_mouth),
    }


def page(request: HttpRequest, form: RangeForm, board: Dashboard | None) -> HttpResponse:
    context: dict[str, Any] = {
        **console_site.each_context(request),
        "title": "Trust dashboard",
        "form": form,
        "quick_links": _quick_links((board.start, board.end) if board else None),
        "empty_message": EMPTY,
    }
    if board is not None:
        context.update(_board_context(board))
    return TemplateResponse(
        request, "console/dashboard.html", context, status=200 if board else 400
    )


def dashboard_view(request: HttpRequest) -> HttpResponse:
    allowed(request)
    form = range_form(request)
    if not form.is_valid():
        return page(request, form, None)
    return page(request, form, dashboard_for(form.cleaned_data["start"], form.cleaned_data["end"]))
