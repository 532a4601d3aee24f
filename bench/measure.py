"""Measuring a workload and its floor the same way, in the same run.

A workload is what the desk does (an API page, a grant, a dispatch); its floor
is the fastest thing that could do the same job on this machine (one raw SQL
query, a raw psycopg transaction, a raw smtplib loop). The ratio floor/workload
says how close to the machine's limit the desk runs, whatever the machine.
Nothing here passes or fails: it measures.
"""

import json
import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

from django.db import connection
from django.test.utils import CaptureQueriesContext


@dataclass
class Timing:
    """Latencies of one side (workload or floor), in seconds."""

    samples: list[float] = field(default_factory=list)
    # Operations done in ``wall`` seconds: for throughput, when one sample is
    # one operation or when a batch is timed as a whole.
    operations: int = 0
    wall: float = 0.0
    queries: float | None = None  # SQL queries per operation, when counted

    @property
    def median_ms(self) -> float | None:
        return statistics.median(self.samples) * 1000 if self.samples else None

    @property
    def p95_ms(self) -> float | None:
        if not self.samples:
            return None
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))] * 1000

    @property
    def throughput(self) -> float | None:
        """Operations per second."""
        return self.operations / self.wall if self.wall else None


@dataclass
class Result:
    name: str
    description: str
    workload: Timing
    floor: Timing
    notes: list[str] = field(default_factory=list)
    # Targets from the issue, for the table: e.g. {"p95_ms": 30, "queries": 5}
    # or {"ratio": 0.3}. Reported, never asserted.
    targets: dict[str, float] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        """Floor speed over workload speed: 1.0 is as fast as the floor."""
        work, floor = self.workload, self.floor
        if work.throughput and floor.throughput:
            return work.throughput / floor.throughput
        if work.median_ms and floor.median_ms:
            return floor.median_ms / work.median_ms
        return None

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for side in ("workload", "floor"):
            timing: Timing = getattr(self, side)
            data[side].pop("samples")
            data[side].update(
                median_ms=timing.median_ms, p95_ms=timing.p95_ms, throughput=timing.throughput
            )
        data["ratio"] = self.ratio
        return data


def time_calls(
    call: Callable[[], object], *, repeat: int, warmup: int = 3, count_queries: bool = False
) -> Timing:
    """Time ``call`` ``repeat`` times after ``warmup`` untimed runs; with
    ``count_queries``, also the Django queries of one call."""
    return _in_turn((call,), repeat=repeat, warmup=warmup, count_queries=count_queries)[0]


def time_side_by_side(
    work: Callable[[], object], floor: Callable[[], object], *, repeat: int, warmup: int = 3
) -> tuple[Timing, Timing]:
    """Time ``work`` and ``floor`` ``repeat`` times each, one after the other
    in turn, so that both meet the same moments of a busy host (a shared
    machine's slow second falls on both sides, not on one); the work's
    queries counted on one call."""
    work_timing, floor_timing = _in_turn(
        (work, floor), repeat=repeat, warmup=warmup, count_queries=True
    )
    return work_timing, floor_timing


def _in_turn(
    calls: Sequence[Callable[[], object]], *, repeat: int, warmup: int, count_queries: bool
) -> list[Timing]:
    """Each of ``calls`` ``repeat`` times, in turn, after ``warmup`` untimed
    rounds; with ``count_queries``, the first call's queries on one more
    run. Each throughput from its own time (the sum of its samples)."""
    for _ in range(warmup):
        for call in calls:
            call()
    timings = [Timing() for _ in calls]
    if count_queries:
        with CaptureQueriesContext(connection) as captured:
            calls[0]()
        timings[0].queries = len(captured)
    for _ in range(repeat):
        for call, timing in zip(calls, timings, strict=True):
            before = time.perf_counter()
            call()
            timing.samples.append(time.perf_counter() - before)
    for timing in timings:
        timing.wall = sum(timing.samples)
        timing.operations = repeat
    return timings


@contextmanager
def counting_queries() -> Iterator[list[int]]:
    """Counts this thread's queries, cheaper than capturing them (no debug cursor)."""
    count = [0]

    def counter(execute: Callable[..., Any], *args: Any) -> Any:
        count[0] += 1
        return execute(*args)

    with connection.execute_wrapper(counter):
        yield count


def _cell(value: float | None, fmt: str) -> str:
    return "—" if value is None else format(value, fmt)


def table(results: list[Result]) -> str:
    """The results as a Markdown table, for the terminal and the README."""
    head = (
        "| workload | median ms | p95 ms | ops/s | queries/op | floor median ms | "
        "floor ops/s | ratio to floor | target |"
    )
    lines = [head, "|" + "---|" * 9]
    for r in results:
        w, f = r.workload, r.floor
        target = ", ".join(f"{k} {v:g}" for k, v in r.targets.items()) or "—"
        lines.append(
            f"| {r.name} | {_cell(w.median_ms, '.2f')} | {_cell(w.p95_ms, '.2f')} | "
            f"{_cell(w.throughput, '.0f')} | {_cell(w.queries, '.0f')} | "
            f"{_cell(f.median_ms, '.2f')} | {_cell(f.throughput, '.0f')} | "
            f"{_cell(r.ratio, '.2f')} | {target} |"
        )
    return "\n".join(lines)


def write_json(results: list[Result], path: str, *, meta: dict[str, Any]) -> None:
    with open(path, "w", encoding="utf-8") as out:
        json.dump({"meta": meta, "results": [r.as_dict() for r in results]}, out, indent=2)
