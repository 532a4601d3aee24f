"""The customer's trust over time as an inline SVG, drawn on the server like
the ratings' sparkline: a lane per kind of event on one time axis, ratings
by their value, each mark titled with what happened. The same events are
listed in a table under it."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.utils.timezone import localtime

from recovery.trust.timeline import RATING, TrustEvent

WIDTH, LEFT, RIGHT = 720, 92, 12
RATING_TOP, RATING_HEIGHT = 10, 56
LANE_HEIGHT = 26
LANES = ("Mishaps", "Promises", "Restitutions", "Follow-ups")
MIN_SPAN = timedelta(days=30)
TICKS = 6


@dataclass(frozen=True)
class Mark:
    x: float
    y: float
    kind: str
    title: str


@dataclass(frozen=True)
class TimelineChart:
    height: int
    marks: list[Mark]
    lanes: list[tuple[str, float]]
    ticks: list[tuple[float, str, str]]  # x, label, text-anchor
    rating_points: str
    width: int = WIDTH
    left: int = LEFT
    axis_y: float = 0
    rating_scale: list[tuple[int, float]] = field(default_factory=list)


def _rating_y(rating: int) -> float:
    return round(RATING_TOP + (5 - rating) * RATING_HEIGHT / 4, 1)


def timeline_chart(events: list[TrustEvent], *, now: datetime) -> TimelineChart | None:
    if not events:
        return None
    start = min(e.at for e in events)
    start = min(start, now - MIN_SPAN)
    span = (now - start).total_seconds() or 1.0
    plot = WIDTH - LEFT - RIGHT

    def x_of(moment: datetime) -> float:
        return round(LEFT + (moment - start).total_seconds() / span * plot, 1)

    lane_top = RATING_TOP + RATING_HEIGHT + 22
    lane_y = {name: lane_top + i * LANE_HEIGHT for i, name in enumerate(LANES)}
    marks = []
    for event in events:
        if event.kind == RATING and event.rating is not None:
            y = _rating_y(event.rating)
        else:
            y = lane_y[event.lane]
        title = f"{localtime(event.at):%b %-d, %Y}: {event.text}"
        if event.reference:
            title += f" ({event.reference})"
        marks.append(Mark(x=x_of(event.at), y=y, kind=event.kind, title=title))
    ratings = [m for m in marks if m.kind == RATING]
    axis_y = lane_top + len(LANES) * LANE_HEIGHT - 8
    moments = [start + (now - start) * i / (TICKS - 1) for i in range(TICKS)]
    anchors = ["start", *["middle"] * (TICKS - 2), "end"]
    ticks = [
        (x_of(moment), f"{localtime(moment):%b %-d}", anchor)
        for moment, anchor in zip(moments, anchors, strict=True)
    ]
    return TimelineChart(
        height=int(axis_y + 22),
        marks=marks,
        lanes=[("Ratings", RATING_TOP + RATING_HEIGHT / 2), *lane_y.items()],
        ticks=ticks,
        rating_points=" ".join(f"{m.x},{m.y}" for m in ratings) if len(ratings) > 1 else "",
        axis_y=axis_y,
        rating_scale=[(5, _rating_y(5)), (1, _rating_y(1))],
    )
