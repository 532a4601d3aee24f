"""The figures of a customer's trust profile, computed by the database.

Each table the touchpoints live in is read by one scalar subquery that
returns a JSON object of that table's figures for one customer. Riding on a
row that is read anyway (the ticket of the ticket page, the customers of a
page of the queue), a profile costs no query of its own, however long the
customer's history; alone it costs one. The rules that turn the figures
into a level live in ``recovery.trust.rules``.
"""

from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db.models import (
    Avg,
    Case,
    Count,
    DecimalField,
    Exists,
    F,
    JSONField,
    Max,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    When,
)
from django.db.models.functions import JSONObject
from django.utils.dateparse import parse_datetime
from django.utils.timezone import is_naive, make_aware

from recovery.models import Feedback, FollowUpOptOut, Restitution
from recovery.trust.sql import Median, Seconds
from tickets.models import Commitment, Kind, Status, Ticket
from tickets.models.ticket import OPEN_STATUSES

YEAR = timedelta(days=365)
QUARTER = timedelta(days=90)
IN_FORCE = (Restitution.Status.GRANTED, Restitution.Status.APPROVED)
PREFIX = "trust_"  # the annotations' names, out of the way of the row's own


@dataclass(frozen=True)
class Figures:
    """Every number the level is decided from, as of ``as_of``. Counts and
    rates over the last 365 days unless the name says otherwise."""

    tickets: int  # in all, ever
    mishaps: int  # ever
    mishaps_90_days: int
    mishaps_365_days: int
    first_mishap_90_days_at: datetime | None
    repeat_failures_365_days: int
    open_mishaps: int  # being put right now
    rebuilding_mishaps: int  # resolved, in their rebuilding period now
    rebuilding_since: datetime | None
    median_minutes_to_acknowledge: float | None  # on their mishaps
    median_minutes_to_apologize: float | None
    promises_made: int
    promises_kept: int
    promises_late: int  # kept late, or not kept and past due
    last_promise_due_at: datetime | None  # the latest promise due or kept
    last_promise_kept_at: datetime | None  # None while it is still open
    last_promise_late_hours: float | None  # 0 when it was kept in time
    restitution_paid: float | None  # in force, on mishaps where a loss was stated
    restitution_loss: float | None  # the losses they stated on those
    restitution_share_of_loss: float | None
    ratings: int
    average_rating: float | None
    last_rating: int | None
    last_rated_at: datetime | None
    unsubscribed_at: datetime | None  # from the follow-ups
    as_of: datetime

    def as_dict(self) -> dict[str, Any]:
        return {
            name: value.isoformat() if isinstance(value, datetime) else value
            for name, value in asdict(self).items()
            if name != "as_of"
        }


def _json(queryset: QuerySet[Any], group: str, **members: Any) -> Subquery:
    """One row of ``members`` (aggregates) for the customer ``queryset`` is
    filtered to, as a JSON object; NULL when there are no rows."""
    rows = queryset.order_by().values(group).annotate(figures=JSONObject(**members))
    return Subquery(rows.values("figures"), output_field=JSONField())


def _latest(queryset: QuerySet[Any], *order: str, **members: Any) -> Subquery:
    row = queryset.order_by(*order).annotate(figures=JSONObject(**members)).values("figures")[:1]
    return Subquery(row, output_field=JSONField())


def figure_annotations(
    customer: OuterRef | F, *, now: datetime, excluding_ticket: int | None = None
) -> dict[str, Subquery]:
    """The annotations that compute the figures of the customer ``customer``
    refers to (``OuterRef("customer_id")`` on a ticket, ``OuterRef("pk")`` on
    a customer), as of ``now``; ``excluding_ticket`` is left out, to judge a
    customer as they were just before it."""
    year_ago, quarter_ago = now - YEAR, now - QUARTER
    tickets = Ticket.objects.filter(customer_id=customer)
    promises = Commitment.objects.filter(ticket__customer_id=customer, due_at__gte=year_ago)
    ratings = Feedback.objects.filter(customer_id=customer, created_at__gte=year_ago)
    if excluding_ticket is not None:
        tickets = tickets.exclude(pk=excluding_ticket)
        promises = promises.exclude(ticket_id=excluding_ticket)
        ratings = ratings.exclude(ticket_id=excluding_ticket)

    mishap = Q(kind=Kind.MISHAP)
    this_year = mishap & Q(created_at__gte=year_ago)
    recent = mishap & Q(created_at__gte=quarter_ago)
    rebuilding = mishap & Q(status=Status.REBUILDING)

    def wait(until: str) -> Case:
        return Case(When(this_year, then=Seconds(until, "created_at")), default=None)

    # Per mishap: what is in force on it, and the loss stated on it (the
    # largest, where a second grant states it again), then summed.
    # (OuterRef here is the ticket's: this subquery sits inside the tickets'.)
    in_force = Restitution.objects.filter(ticket_id=OuterRef("pk"), status__in=IN_FORCE)
    per_ticket = in_force.order_by().values("ticket_id")
    money = DecimalField(max_digits=14, decimal_places=2)
    with_loss = tickets.filter(this_year).annotate(
        paid=Subquery(per_ticket.annotate(s=Sum("amount")).values("s"), output_field=money),
        loss=Subquery(per_ticket.annotate(m=Max("customer_loss")).values("m"), output_field=money),
    )
    late = Q(fulfilled_at__gt=F("due_at")) | Q(fulfilled_at=None, due_at__lt=now)
    return {
        f"{PREFIX}tickets": _json(
            tickets,
            "customer_id",
            tickets=Count("pk"),
            mishaps=Count("pk", filter=mishap),
            mishaps_90_days=Count("pk", filter=recent),
            mishaps_365_days=Count("pk", filter=this_year),
            first_mishap_90_days_at=Min("created_at", filter=recent),
            repeat_failures_365_days=Count(
                "pk", filter=Q(is_repeat_failure=True, created_at__gte=year_ago)
            ),
            open_mishaps=Count("pk", filter=mishap & Q(status__in=OPEN_STATUSES)),
            rebuilding_mishaps=Count("pk", filter=rebuilding),
            rebuilding_since=Min("resolved_at", filter=rebuilding),
            seconds_to_acknowledge=Median(wait("acknowledged_at")),
            seconds_to_apologize=Median(wait("apologized_at")),
        ),
        f"{PREFIX}promises": _json(
            promises,
            "ticket__customer_id",
            made=Count("pk"),
            kept=Count("pk", filter=Q(fulfilled_at__lte=F("due_at"))),
            late=Count("pk", filter=late),
        ),
        f"{PREFIX}last_promise": _latest(
            promises.filter(Q(fulfilled_at__isnull=False) | Q(due_at__lte=now)),
            "-due_at",
            "-id",
            due_at="due_at",
            fulfilled_at="fulfilled_at",
        ),
        f"{PREFIX}money": _json(
            with_loss.filter(Exists(in_force.filter(customer_loss__isnull=False))),
            "customer_id",
            paid=Sum("paid"),
            loss=Sum("loss"),
        ),
        f"{PREFIX}ratings": _json(ratings, "customer_id", count=Count("pk"), average=Avg("rating")),
        f"{PREFIX}last_rating": _latest(
            ratings, "-created_at", "-id", rating="rating", created_at="created_at"
        ),
        f"{PREFIX}unsubscribed_at": Subquery(
            FollowUpOptOut.objects.filter(customer_id=customer).values("created_at")[:1]
        ),
    }


def _moment(value: Any) -> datetime | None:
    """A time as a JSON object carries it: ISO text from PostgreSQL, the
    naive UTC text Django keeps in SQLite."""
    if value is None or isinstance(value, datetime):
        return value
    moment = parse_datetime(str(value))
    if moment is not None and is_naive(moment):
        moment = make_aware(moment, UTC)
    return moment


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


def _minutes(seconds: Any) -> float | None:
    return None if seconds is None else round(float(seconds) / 60, 1)


def figures_from_row(row: Any, *, now: datetime) -> Figures:
    """The figures read off a row annotated with ``figure_annotations``."""
    tickets = getattr(row, f"{PREFIX}tickets") or {}
    promises = getattr(row, f"{PREFIX}promises") or {}
    last_promise = getattr(row, f"{PREFIX}last_promise") or {}
    money = getattr(row, f"{PREFIX}money") or {}
    ratings = getattr(row, f"{PREFIX}ratings") or {}
    last_rating = getattr(row, f"{PREFIX}last_rating") or {}

    due_at = _moment(last_promise.get("due_at"))
    late_hours = None
    if due_at is not None:
        done_at = _moment(last_promise.get("fulfilled_at")) or now
        late_hours = max((done_at - due_at).total_seconds(), 0) / 3600
    paid, loss = _number(money.get("paid")), _number(money.get("loss"))
    average = _number(ratings.get("average"))
    return Figures(
        tickets=tickets.get("tickets", 0),
        mishaps=tickets.get("mishaps", 0),
        mishaps_90_days=tickets.get("mishaps_90_days", 0),
        mishaps_365_days=tickets.get("mishaps_365_days", 0),
        first_mishap_90_days_at=_moment(tickets.get("first_mishap_90_days_at")),
        repeat_failures_365_days=tickets.get("repeat_failures_365_days", 0),
        open_mishaps=tickets.get("open_mishaps", 0),
        rebuilding_mishaps=tickets.get("rebuilding_mishaps", 0),
        rebuilding_since=_moment(tickets.get("rebuilding_since")),
        median_minutes_to_acknowledge=_minutes(tickets.get("seconds_to_acknowledge")),
        median_minutes_to_apologize=_minutes(tickets.get("seconds_to_apologize")),
        promises_made=promises.get("made", 0),
        promises_kept=promises.get("kept", 0),
        promises_late=promises.get("late", 0),
        last_promise_due_at=due_at,
        last_promise_kept_at=_moment(last_promise.get("fulfilled_at")),
        last_promise_late_hours=late_hours,
        restitution_paid=paid,
        restitution_loss=loss,
        restitution_share_of_loss=(round(paid / loss, 3) if paid is not None and loss else None),
        ratings=ratings.get("count", 0),
        average_rating=round(average, 2) if average is not None else None,
        last_rating=last_rating.get("rating"),
        last_rated_at=_moment(last_rating.get("created_at")),
        unsubscribed_at=_moment(getattr(row, f"{PREFIX}unsubscribed_at")),
        as_of=now,
    )
