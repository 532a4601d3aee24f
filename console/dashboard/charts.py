"""What dashboard.js draws, one function per chart. Amounts become floats
here for drawing only; the tables and the CSV show the Decimal amounts. A
chart with nothing to draw is None, and the page shows its empty state
instead."""

from datetime import date
from typing import Any

from console.dashboard.figures import Dashboard
from recovery.metrics import AgentSpend, SeriesPoint, TrustMetrics


def chart_data(board: Dashboard) -> dict[str, Any]:
    metrics = board.metrics
    return {
        "budget": _budget(board.budgets),
        "kinds": _kinds(metrics.restitution_spend),
        "series": _series(board.bucket, board.series),
        "ratings": _ratings(metrics),
        "word_of_mouth": _word_of_mouth(metrics.word_of_mouth),
    }


def _budget(budgets: list[AgentSpend]) -> dict[str, Any] | None:
    """Each agent's spend beside their budget, the currency in the label
    where agents spend in more than one."""
    if not any(agent.spent for agent in budgets):
        return None
    currencies = {agent.currency for agent in budgets}
    several = len(currencies) > 1
    return {
        "labels": [
            agent.username + (f" ({agent.currency})" if several else "") for agent in budgets
        ],
        "spent": [float(agent.spent) for agent in budgets],
        "budget": [float(agent.budget) for agent in budgets],
        "currency": "" if several else next(iter(currencies)),
    }


def _kinds(spend: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The spend by kind of restitution, the currency in the label where
    there is more than one."""
    several = len({row["currency"] for row in spend}) > 1
    by_kind: dict[str, float] = {}
    for row in spend:
        label = row["kind"].replace("_", " ")
        if several:
            label = f"{label} ({row['currency']})"
        by_kind[label] = by_kind.get(label, 0.0) + float(row["total"])
    if not by_kind:
        return None
    return {"labels": list(by_kind), "totals": list(by_kind.values())}


def _short_date(day: date) -> str:
    return f"{day.day} {day:%b}"


def _rate_percent(rate: float | None) -> float | None:
    return None if rate is None else round(rate * 100, 1)


def _series(bucket: str, series: list[SeriesPoint]) -> dict[str, Any] | None:
    if not any(point.mishaps or point.promises_due for point in series):
        return None
    return {
        "bucket": bucket,
        "labels": [_short_date(point.start) for point in series],
        "mishaps": [point.mishaps for point in series],
        "apology_rate": [_rate_percent(point.apology_rate) for point in series],
        "promises_kept_rate": [_rate_percent(point.promises_kept_rate) for point in series],
    }


def _ratings(metrics: TrustMetrics) -> dict[str, Any] | None:
    recovered, never_failed = metrics.recovered_average_rating, metrics.never_failed_average_rating
    if recovered is None and never_failed is None:
        return None
    return {"recovered": recovered, "never_failed": never_failed}


def _word_of_mouth(word: dict[str, int]) -> dict[str, Any] | None:
    if not any(word.values()):
        return None
    return {
        "happy": word["happy_tell"],
        "resolved": word["resolved_tell"],
        "unhappy": word["unhappy_tell"],
    }
