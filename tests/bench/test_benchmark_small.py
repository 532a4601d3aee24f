"""The benchmark runs end to end on tiny data. It checks that it measures,
never how fast anything is: timings belong to docs/performance.md."""

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the generator writes with PostgreSQL's COPY"
)
READ_WORKLOADS = (
    "queue_list",
    "ticket_detail_api",
    "ticket_page_console",
    "search",
    "customer_trust_api",
    "metrics_api_90d",
    "metrics_api_365d",
    "dashboard_console_90d",
    "dashboard_console_365d",
)


def test_the_read_workloads_run_beside_their_floors(db: None, tmp_path: Path) -> None:
    call_command(
        "generate_load_data", "--tickets", "300", "--messages-per-ticket", "5",
        "--long-conversation", "50", stdout=StringIO(), stderr=StringIO(),
    )  # fmt: skip
    out = StringIO()
    target = tmp_path / "bench.json"

    call_command(
        "benchmark",
        scale="tiny",
        repeat=3,
        only=",".join(READ_WORKLOADS),
        json=str(target),
        stdout=out,
        stderr=StringIO(),
    )

    rows = [line for line in out.getvalue().splitlines() if line.startswith("| ")]
    assert [row.split("|")[1].strip() for row in rows[1:]] == list(READ_WORKLOADS)
    results = json.loads(target.read_text())["results"]
    for result in results:
        for side in ("workload", "floor"):
            assert result[side]["median_ms"] > 0
            assert result[side]["p95_ms"] >= result[side]["median_ms"]
        assert result["workload"]["queries"] >= 1
        assert result["ratio"] > 0
