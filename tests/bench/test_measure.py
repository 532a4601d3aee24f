"""The benchmark's timing: the workload and its floor in turn."""

import pytest

from bench.measure import time_side_by_side
from tickets.models import Ticket


@pytest.mark.django_db
def test_the_workload_and_its_floor_are_timed_in_turn() -> None:
    calls: list[str] = []

    def work() -> object:
        calls.append("work")
        return Ticket.objects.count()

    def floor() -> object:
        calls.append("floor")
        return None

    work_timing, floor_timing = time_side_by_side(work, floor, repeat=4, warmup=1)

    # The warm-up, one call that counts the work's queries, then four rounds.
    assert calls == ["work", "floor", "work"] + ["work", "floor"] * 4
    assert work_timing.queries == 1
    assert floor_timing.queries is None
    for timing in (work_timing, floor_timing):
        assert len(timing.samples) == timing.operations == 4
        assert timing.wall == pytest.approx(sum(timing.samples))
        assert (timing.throughput or 0) > 0
