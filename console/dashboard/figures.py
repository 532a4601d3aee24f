"""What the dashboard shows for a range: the figures of ``recovery.metrics``
with their labels and as people read them ("42%", "12 min", "—"), the
spend against each agent's budget, the series, and the tables' rows."""

from dataclasses import dataclass
from datetime import date
from typing import Any

from recovery.metrics import (
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

NO_FIGURE = "—"


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


def number(value: float | None, places: int = 2) -> str:
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
            number(m.recovery_paradox_index),
            f"average rating {number(m.recovered_average_rating)} recovered "
            f"vs {number(m.never_failed_average_rating)} never failed (of 5)",
        ),
        Figure(
            "recovered_average_rating",
            "Recovered customers' average rating",
            m.recovered_average_rating,
            number(m.recovered_average_rating),
        ),
        Figure(
            "never_failed_average_rating",
            "Never-failed customers' average rating",
            m.never_failed_average_rating,
            number(m.never_failed_average_rating),
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


def compensation_rows(metrics: TrustMetrics) -> list[dict[str, Any]]:
    """The compensation table's rows, the 5 bands in order, with the mean
    rating as people read it ("4.50", or "—" for a band nobody rated)."""
    return [
        {**band, "shown": number(band["mean_rating"])}
        for band in metrics.compensation_effectiveness
    ]


def word_of_mouth_rows(word: dict[str, int]) -> list[dict[str, Any]]:
    """The word-of-mouth table: each kind of customer, how many, how many
    people each tells, and the estimate."""
    return [
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
    ]
