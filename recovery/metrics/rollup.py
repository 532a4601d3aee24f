"""The daily rollups of the trust dashboard's figures: refreshed by beat every
minute, read by the API and the console.

What a reader sees: once the history is built, every day of a range (past,
today and future: promises and follow-ups fall due ahead) comes from its
stored row, so a range costs four queries and a row a day whatever its
length or the desk's size. A change shows after the next beat run: the
figures lag the source tables by at most a minute plus the run's duration
(a few hundred milliseconds at 200,000 tickets). Until the history is built
(the first beat runs build it backwards a quarter a run, or
``rebuild_daily_figures`` all at once), and after TIME_ZONE changes until
beat has rebuilt it, reads compute every day live from the source tables,
exact and as slow as before the rollups.

Why not today live: a day's figures from the source tables take eight
queries, and the follow-ups' one scans the table (no index on ``due_at``
but for scheduled rows), about 20 ms at 94,000 follow-ups and growing with
the desk, which a page's cost cannot carry; a minute's lag on a supervisor's
dashboard can.

Changes are found by their timestamps (``Ticket.updated_at``, ``created_at``,
``fulfilled_at``, ``decided_at``, ``queued_at``, ``sent_at``, ``cancelled_at``,
``voided_at``), less a margin for transactions that were open at the last
run; a follow-up marked failed has no timestamp, so the last week of days is
recomputed on every run as well. Deleting source rows is not detected; the
rebuild command recomputes everything.
"""

from collections.abc import Callable, Iterable
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Max, Min, Q, QuerySet, Sum

from core import clock
from recovery.metrics.daily import (
    DayFigures,
    Waits,
    _by_day,
    figures_by_day,
    local_day,
    total,
)
from recovery.models import (
    ApprovalRequest,
    DailyCompensation,
    DailyFigures,
    DailyFiguresState,
    DailySpend,
    Feedback,
    FollowUp,
    Restitution,
    SpendEntry,
)
from tickets.models import Commitment, Ticket

# Transactions open longer than this at a run may be missed by the next one.
CHANGE_MARGIN = timedelta(minutes=10)
# Recomputed on every run, for changes without a timestamp.
TRAILING_DAYS = 7
# Days of history built per beat run, and per step of a rebuild.
HISTORY_CHUNK_DAYS = 92
# Changed days closer than this are recomputed as one span.
SPAN_GAP_DAYS = 3

STORED_COUNTS = DayFigures.COUNTS


# --- reading ------------------------------------------------------------------------


def figures_for_range(start: date, end: date) -> tuple[DayFigures, dict[date, DayFigures]]:
    """The range's figures added up, and each day's (without spend and bands,
    which only the total needs). From the stored days once the history is
    built: four queries. Before: the state, then the eight queries of
    ``figures_by_day`` over the source tables."""
    built = DailyFiguresState.objects.filter(
        pk=1, history_built=True, time_zone=settings.TIME_ZONE
    ).exists()
    if not built:
        days = figures_by_day(start, end)
        return total(days.values()), days
    days = {}
    totals = DayFigures()
    span = Q(day__gte=start, day__lte=end)
    for when, acknowledge_waits, approval_waits, *counts in (
        DailyFigures.objects.filter(span)
        .order_by()
        .values_list("day", "acknowledge_waits", "approval_waits", *STORED_COUNTS)
    ):
        day = DayFigures(
            acknowledge_waits=Waits.from_bytes(acknowledge_waits),
            approval_waits=Waits.from_bytes(approval_waits),
            **dict(zip(STORED_COUNTS, counts, strict=True)),
        )
        days[when] = day
        totals.add(day)
    for spend in (
        DailySpend.objects.filter(span)
        .values("user_id", "user__username", "kind", "currency")
        .annotate(amount=Sum("total"))
        .order_by()
    ):
        key = (spend["user_id"], spend["user__username"], spend["kind"], spend["currency"])
        totals.spend[key] = spend["amount"]
    for band in (
        DailyCompensation.objects.filter(span)
        .values("band")
        .annotate(n=Sum("ratings"), total=Sum("rating_sum"))
        .order_by()
    ):
        totals.bands[band["band"]] = (band["n"], band["total"])
    return totals, days


# --- refreshing ---------------------------------------------------------------------


def _spans(days: Iterable[date]) -> list[tuple[date, date]]:
    spans: list[tuple[date, date]] = []
    for day in sorted(set(days)):
        if spans and (day - spans[-1][1]).days <= SPAN_GAP_DAYS:
            spans[-1] = (spans[-1][0], day)
        else:
            spans.append((day, day))
    return spans


def _write_span(first: date, last: date, now: datetime) -> int:
    """Replaces the stored days ``first`` to ``last`` with what they add up to now."""
    figures = figures_by_day(first, last)
    span = Q(day__gte=first, day__lte=last)
    DailyFigures.objects.filter(span).delete()
    DailySpend.objects.filter(span).delete()
    DailyCompensation.objects.filter(span).delete()
    kept = {day: f for day, f in figures.items() if not f.is_empty()}
    DailyFigures.objects.bulk_create(
        DailyFigures(
            day=day,
            acknowledge_waits=f.acknowledge_waits.to_bytes(),
            approval_waits=f.approval_waits.to_bytes(),
            computed_at=now,
            **{name: getattr(f, name) for name in STORED_COUNTS},
        )
        for day, f in kept.items()
    )
    DailySpend.objects.bulk_create(
        DailySpend(day=day, user_id=user, kind=kind, currency=currency, total=amount)
        for day, f in kept.items()
        for (user, _username, kind, currency), amount in f.spend.items()
    )
    DailyCompensation.objects.bulk_create(
        DailyCompensation(day=day, band=band, ratings=n, rating_sum=rating_sum)
        for day, f in kept.items()
        for band, (n, rating_sum) in f.bands.items()
    )
    return (last - first).days + 1


def _days(queryset: QuerySet, field_name: str) -> set[date]:
    return set(
        queryset.annotate(day=_by_day(field_name))
        .order_by()
        .values_list("day", flat=True)
        .distinct()
    )


def changed_days(*, since: datetime) -> set[date]:
    """The days whose figures may have changed since ``since``."""
    tickets = Ticket.objects.filter(updated_at__gte=since)
    days = _days(tickets, "created_at")
    # A customer's first mishap (or a kind changed) reclassifies all their ratings.
    days |= _days(
        Feedback.objects.filter(customer_id__in=tickets.values("customer_id")), "created_at"
    )
    days |= _days(
        Commitment.objects.filter(Q(created_at__gte=since) | Q(fulfilled_at__gte=since)), "due_at"
    )
    days |= _days(SpendEntry.objects.filter(created_at__gte=since), "created_at")
    days |= _days(ApprovalRequest.objects.filter(decided_at__gte=since), "decided_at")
    days |= _days(
        FollowUp.objects.filter(
            Q(created_at__gte=since)
            | Q(queued_at__gte=since)
            | Q(sent_at__gte=since)
            | Q(cancelled_at__gte=since)
            | Q(feedback__created_at__gte=since)
        ),
        "due_at",
    )
    days |= _days(Feedback.objects.filter(created_at__gte=since), "created_at")
    # Restitutions in force decide the compensation band of the ticket's ratings.
    changed_restitutions = Restitution.objects.filter(
        Q(created_at__gte=since) | Q(voided_at__gte=since) | Q(approval__decided_at__gte=since)
    )
    days |= _days(
        Feedback.objects.filter(ticket_id__in=changed_restitutions.values("ticket_id")),
        "created_at",
    )
    return days


def _first_and_last_day() -> tuple[date, date] | None:
    """The first and last days with anything on them."""
    found = []
    for model, field_name in (
        (Ticket, "created_at"),
        (Commitment, "due_at"),
        (SpendEntry, "created_at"),
        (ApprovalRequest, "decided_at"),
        (FollowUp, "due_at"),
        (Feedback, "created_at"),
    ):
        bounds = model.objects.aggregate(first=Min(field_name), last=Max(field_name))
        found += [local_day(bounds[key]) for key in ("first", "last") if bounds[key] is not None]
    return (min(found), max(found)) if found else None


def daily_figures_refresh(*, now: datetime | None = None) -> int:
    """Brings the stored days up to date: the days that changed since the last
    run and the last week, then one more quarter of the history until it is
    all built. Returns the days written. Idempotent; runs are serialized by
    the state row's lock."""
    now = now or clock.now()
    today = local_day(now)
    written = 0
    with transaction.atomic():
        state = DailyFiguresState.objects.select_for_update().filter(pk=1).first()
        if state is not None and state.time_zone != settings.TIME_ZONE:
            _delete_all()  # days cut in another zone: start again
            state = None
        if state is None:
            bounds = _first_and_last_day()
            last = max(bounds[1], today) if bounds else today
            state = DailyFiguresState(
                history_from=last + timedelta(days=1),
                changes_seen_at=now,
                time_zone=settings.TIME_ZONE,
            )
        else:
            stale = changed_days(since=state.changes_seen_at - CHANGE_MARGIN)
            stale |= {today - timedelta(days=n) for n in range(TRAILING_DAYS)}
            if not state.history_built:  # the rest is built below, fresh
                stale = {day for day in stale if day >= state.history_from}
            for first, last in _spans(stale):
                written += _write_span(first, last, now)
            state.changes_seen_at = now
        if not state.history_built:
            bounds = _first_and_last_day()
            last = state.history_from - timedelta(days=1)
            if bounds is None or bounds[0] > last:
                state.history_built = True
            else:
                first = max(bounds[0], last - timedelta(days=HISTORY_CHUNK_DAYS - 1))
                written += _write_span(first, last, now)
                state.history_from = first
                state.history_built = first <= bounds[0]
        state.save()
    return written


def _delete_all() -> None:
    DailyFiguresState.objects.all().delete()
    DailyFigures.objects.all().delete()
    DailySpend.objects.all().delete()
    DailyCompensation.objects.all().delete()


def daily_figures_rebuild(*, progress: Callable[[date, date], None] | None = None) -> int:
    """Recomputes every day from the source tables in one transaction (reads
    meanwhile see the old rows): for a new install with history, a changed
    TIME_ZONE, or after source rows were deleted. Returns the days written."""
    now = clock.now()
    today = local_day(now)
    written = 0
    with transaction.atomic():
        DailyFiguresState.objects.select_for_update().filter(pk=1).first()
        _delete_all()
        first, last = _first_and_last_day() or (today, today)
        history_from = first
        while first <= last:
            chunk_end = min(last, first + timedelta(days=HISTORY_CHUNK_DAYS - 1))
            written += _write_span(first, chunk_end, now)
            if progress is not None:
                progress(first, chunk_end)
            first = chunk_end + timedelta(days=1)
        DailyFiguresState.objects.create(
            history_from=history_from,
            history_built=True,
            changes_seen_at=now,
            time_zone=settings.TIME_ZONE,
        )
    return written
