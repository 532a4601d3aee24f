"""Compensation effectiveness, from the desk's own data: the follow-up ratings
of mishaps grouped by what was paid as a share of the customer's loss.

The grant guidance (``recovery.services.restitutions``) suggests 60 to 120% of
the loss and warns past 150%, after the research; these bands let a
supervisor see whether that holds for their customers. One SQL query.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import (
    Avg,
    Case,
    CharField,
    Count,
    DecimalField,
    F,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)

from recovery.models import Feedback, Restitution
from tickets.models import Kind

IN_FORCE = (Restitution.Status.GRANTED, Restitution.Status.APPROVED)

# The guidance's bounds, as shares of the loss (SUGGEST_FROM_PERCENT,
# SUGGEST_TO_PERCENT, WARN_ABOVE_PERCENT); a test holds them together.
FROM_SHARE, TO_SHARE, WARN_SHARE = Decimal("0.60"), Decimal("1.20"), Decimal("1.50")

# The labels people read, with an en dash for a range.
BANDS = (
    ("none", "No restitution"),
    ("under_60", "Under 60% of the loss"),
    ("60_120", "60–120% of the loss"),  # noqa: RUF001
    ("120_150", "120–150% of the loss"),  # noqa: RUF001
    ("over_150", "Over 150% of the loss"),
)
LOSS_NOT_STATED = "loss_not_stated"


@dataclass(frozen=True)
class Compensation:
    bands: list[dict[str, Any]]  # {"band", "label", "count", "mean_rating"}, all 5, in order
    loss_not_stated: dict[str, Any]  # {"count", "mean_rating"}


def _mean(value: float | None) -> float | None:
    return round(value, 2) if value is not None else None


def banded(feedback: QuerySet[Feedback]) -> QuerySet[Any]:
    """``feedback`` on mishaps, each annotated with its ``band`` (a key of
    BANDS, or LOSS_NOT_STATED): the one definition of the bands, which the
    range's figures below and the daily rollups (recovery/metrics/daily.py)
    group by."""
    in_force = (
        Restitution.objects.filter(ticket_id=OuterRef("ticket_id"), status__in=IN_FORCE)
        .order_by()
        .values("ticket_id")
    )
    money = DecimalField(max_digits=14, decimal_places=2)
    paid = Subquery(in_force.annotate(total=Sum("amount")).values("total"), output_field=money)
    loss = Subquery(
        in_force.annotate(largest=Max("customer_loss")).values("largest"), output_field=money
    )

    def share(limit: Decimal) -> Any:
        return F("loss") * Value(limit, output_field=money)

    return (
        feedback.filter(ticket__kind=Kind.MISHAP)
        .annotate(paid=paid, loss=loss)
        .annotate(
            band=Case(
                When(paid__isnull=True, then=Value("none")),
                When(loss__isnull=True, then=Value(LOSS_NOT_STATED)),
                When(Q(paid__lt=share(FROM_SHARE)), then=Value("under_60")),
                When(Q(paid__lte=share(TO_SHARE)), then=Value("60_120")),
                When(Q(paid__lte=share(WARN_SHARE)), then=Value("120_150")),
                default=Value("over_150"),
                output_field=CharField(),
            )
        )
    )


def compensation_effectiveness(*, since: datetime, until: datetime) -> Compensation:
    """Ratings given in [since, until) on mishaps, by band of paid / loss.

    Paid is the sum of the restitutions in force on the rated ticket; the
    loss is the largest stated on them, never their sum, since a second
    grant may restate the same loss. Nothing in force is "none"; something
    in force with no loss stated anywhere on the ticket has no share, so it
    is counted apart. The share is compared as ``paid < loss * 0.60`` and
    so on, without dividing: a stated loss of 0 with something paid (the
    amount is always above 0) falls through to over 150%."""
    rows = (
        banded(Feedback.objects.filter(created_at__gte=since, created_at__lt=until))
        .order_by()
        .values("band")
        .annotate(count=Count("pk"), mean=Avg("rating"))
    )
    found = {row["band"]: row for row in rows}

    def figures(band: str) -> dict[str, Any]:
        row = found.get(band)
        return {
            "count": row["count"] if row else 0,
            "mean_rating": _mean(row["mean"]) if row else None,
        }

    return Compensation(
        bands=[{"band": band, "label": label, **figures(band)} for band, label in BANDS],
        loss_not_stated=figures(LOSS_NOT_STATED),
    )
