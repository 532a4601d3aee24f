"""Timeliness targets change through one service, which keeps them sane."""

from datetime import timedelta

import pytest

from core.errors import RuleViolation
from tickets.models import SeverityTarget
from tickets.services import severity_target_set

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("acknowledge", "apologize", "field"),
    [
        (timedelta(0), timedelta(hours=1), "acknowledge_within"),
        (timedelta(hours=3), timedelta(hours=2), "apologize_within"),
    ],
)
def test_a_target_that_makes_no_sense_is_refused(
    acknowledge: timedelta, apologize: timedelta, field: str
) -> None:
    target = SeverityTarget.objects.get(severity="minor")
    before = (target.acknowledge_within, target.apologize_within)

    with pytest.raises(RuleViolation) as refused:
        severity_target_set(
            target=target, acknowledge_within=acknowledge, apologize_within=apologize
        )

    assert field in refused.value.extra["errors"]
    target.refresh_from_db()
    assert (target.acknowledge_within, target.apologize_within) == before


def test_a_target_is_changed() -> None:
    target = SeverityTarget.objects.get(severity="critical")

    severity_target_set(
        target=target,
        acknowledge_within=timedelta(minutes=15),
        apologize_within=timedelta(minutes=30),
    )

    target.refresh_from_db()
    assert target.acknowledge_within == timedelta(minutes=15)
    assert target.apologize_within == timedelta(minutes=30)
