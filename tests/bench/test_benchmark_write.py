"""The write benchmarks at tiny scale, as a test that they run (never that
they are fast): real gunicorn, a real Celery worker on Redis and a real SMTP
sink, all as subprocesses on the test database, so the test commits
(``transaction=True``) for them to see its rows."""

import json
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command

from outbox.models import OutboxItem
from recovery.models import FollowUp, Restitution, SpendEntry
from recovery.services.followup_delivery import SOURCE as FOLLOWUPS
from tickets.models import Ticket

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

TIMEOUT = 240  # seconds for the three, far above what they take


@pytest.fixture
def deadline() -> Iterator[None]:
    """Fails the test instead of hanging it: SIGALRM interrupts the main thread."""

    def expire(signum: int, frame: Any) -> None:
        raise TimeoutError(f"The write benchmarks took more than {TIMEOUT} s.")

    assert threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(TIMEOUT)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def test_the_write_workloads_run_beside_their_floors(
    tmp_path: Path, deadline: None, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "bench.json"

    call_command("benchmark", scale="tiny", repeat=3, only="grants,dispatch,ingest", json=str(out))

    table = capsys.readouterr().out
    results = {r["name"]: r for r in json.loads(out.read_text())["results"]}
    assert list(results) == ["grants", "dispatch", "ingest"]
    for name, result in results.items():
        assert f"| {name} |" in table
        assert result["workload"]["throughput"] > 0
        assert result["floor"]["throughput"] > 0
        assert result["ratio"] > 0
        assert result["workload"]["queries"] > 0
        assert result["targets"]["ratio"] > 0
        assert not [n for n in result["notes"] if n.startswith("ERROR")]

    grants = results["grants"]
    assert grants["workload"]["operations"] == 4 * 3  # 4 clients, 3 grants each
    assert grants["workload"]["median_ms"] > 0
    assert grants["workload"]["p95_ms"] >= grants["workload"]["median_ms"]
    ledger = grants["notes"][0]
    assert ledger.startswith("ledger: ")
    assert "overspend 0.00" in ledger
    assert "counter equals the ledger" in ledger
    assert any(n.startswith("floor ledger:") and "overspend 0.00" in n for n in grants["notes"])
    # The API's lightest call by the same clients, every one answered.
    lightest = next(n for n in grants["notes"] if n.startswith("lightest call:"))
    assert "GET /api/v1/authority/me/" in lightest
    assert "(200: 12)" in lightest
    # The budget ran out partway: some granted, some waiting for approval.
    statuses = set(Restitution.objects.values_list("status", flat=True))
    assert statuses == {Restitution.Status.GRANTED, Restitution.Status.PENDING_APPROVAL}
    assert SpendEntry.objects.exists()

    dispatch = results["dispatch"]
    assert dispatch["workload"]["operations"] == 30
    assert dispatch["notes"][0] == "sent 30 of 30 follow-ups"
    # The floor's 30, the in-process samples (one dispatch task's batch), the worker's 30.
    batch = settings.HELPDESK_OUTBOX_BATCH
    assert f"the sink accepted {30 + batch + 30} messages" in dispatch["notes"][1]
    assert set(FollowUp.objects.values_list("status", flat=True)) == {FollowUp.Status.SENT}
    assert FollowUp.objects.count() == 30 + batch
    # Each sent through the outbox, once.
    sent = OutboxItem.objects.filter(source=FOLLOWUPS, status=OutboxItem.Status.SENT)
    assert sent.count() == 30 + batch
    # Amortised over the batch: the outbox row's mark-sent a mail, and the
    # batch's claim, reads and one record of its follow-ups sent.
    assert 1 < dispatch["workload"]["queries"] < 2

    ingest = results["ingest"]
    assert ingest["workload"]["operations"] == 4 * 3
    assert "ignored" in ingest["notes"][0]
    assert "reply" in ingest["notes"][0]
    assert Ticket.objects.filter(subject__startswith="Order 0:").exists()
