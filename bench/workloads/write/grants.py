"""The grants workload: 16 concurrent API clients (4 at tiny scale) granting
restitutions on ONE agent's budget through gunicorn, the budget running out
halfway; the floor is the same lock-check-insert transaction in raw psycopg.
The ledger afterwards shows whether anything was overspent. Beside them, in
the notes, the same clients making the API's lightest call through the
same server: what a request costs before a grant does anything."""

import http.client
import json
import threading
import time
import uuid
from collections.abc import Callable
from contextlib import suppress
from decimal import Decimal
from typing import Any

import psycopg
from django.conf import settings
from django.db import connection
from django.db.models import Sum
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from accounts.roles import Role
from accounts.services import staff_issue_token, staff_upsert
from bench.measure import Result, Timing
from bench.servers import conninfo, describe_database, gunicorn
from bench.workloads import Context, workload
from bench.workloads.write.tags import run_tag
from recovery.models import Restitution, SpendEntry
from recovery.models.authority import SpendCounter
from recovery.services import authority_policy_set
from tickets.models import Kind, Severity
from tickets.services import (
    ticket_create,
)

AMOUNT = Decimal("5.00")


def grant_setup(*, clients: int, tickets_per_client: int, cap: Decimal, tag: str) -> Any:
    """An agent whose per-period budget is ``cap`` (the binding limit: the
    per-incident and per-customer limits are far above what any ticket or
    customer receives), a token, and mishaps assigned to the agent, each
    client its own (so the shared budget is the only contended row)."""
    # One supervisor for every run, so runs on one database alike: each
    # grant sent for approval alerts every supervisor.
    supervisor = staff_upsert(username="bench-sup", role=Role.SUPERVISOR).user
    agent = staff_upsert(username=f"bench-agent-{tag}", role=Role.AGENT).user
    authority_policy_set(
        user=agent,
        actor=supervisor,
        values={
            "per_incident_limit": "100000.00",
            "per_period_limit": str(cap),
            "period": "month",
            "per_customer_limit": "100000.00",
            "allowed_kinds": ["refund", "credit"],
            "currency": settings.DEFAULT_CURRENCY,
        },
    )
    token = staff_issue_token(user=agent)
    tickets = [
        [
            ticket_create(
                actor=agent,
                subject=f"Parcel {c}-{t} arrived broken",
                body="The box was crushed and the vase inside is in pieces.",
                customer_email=f"grant-{tag}-{c}-{t}@bench.example",
                customer_name=f"Customer {c}-{t}",
                kind=Kind.MISHAP,
                severity=Severity.MAJOR,
            ).ticket.pk
            for t in range(tickets_per_client)
        ]
        for c in range(clients)
    ]
    return agent, token, tickets


def grant_body() -> str:
    return json.dumps(
        {
            "kind": "refund",
            "amount": str(AMOUNT),
            "currency": settings.DEFAULT_CURRENCY,
            "reason": "The parcel arrived broken: a refund of the shipping.",
            "customer_loss": "20.00",
        }
    )


def _run_clients(
    clients: int, per_client: int, one: Callable[[int, int], Callable[[int], int]]
) -> tuple[Timing, dict[int, int], list[str]]:
    """``clients`` threads, released together, each doing ``per_client``
    operations: ``one(client, n)`` prepares client ``client`` (untimed) and
    returns its operation, which returns a status."""
    barrier = threading.Barrier(clients + 1)
    samples: list[list[float]] = [[] for _ in range(clients)]
    statuses: dict[int, int] = {}
    errors: list[str] = []
    lock = threading.Lock()

    def client(index: int) -> None:
        try:
            operation = one(index, per_client)
        except Exception as exc:  # noqa: BLE001 (reported in the notes, never hidden)
            errors.append(f"client {index} setup: {exc!r}")
            barrier.abort()
            return
        try:
            barrier.wait(timeout=120)
        except threading.BrokenBarrierError:
            return
        for n in range(per_client):
            before = time.perf_counter()
            try:
                code = operation(n)
            except Exception as exc:  # noqa: BLE001 (reported in the notes, never hidden)
                errors.append(f"client {index}: {exc!r}")
                return
            samples[index].append(time.perf_counter() - before)
            with lock:
                statuses[code] = statuses.get(code, 0) + 1

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    with suppress(threading.BrokenBarrierError):  # a client's setup failed: in the errors
        barrier.wait(timeout=120)
    started = time.perf_counter()
    for thread in threads:
        thread.join(timeout=600)
    timing = Timing(
        samples=[s for per_thread in samples for s in per_thread],
        wall=time.perf_counter() - started,
    )
    timing.operations = len(timing.samples)
    if any(thread.is_alive() for thread in threads):
        errors.append("a client did not finish within 600 s")
    return timing, statuses, errors


# What one client sends: (method, path, body or None, extra headers), for
# client ``index``'s ``n``-th call.
Call = Callable[[int, int], tuple[str, str, str | None, dict[str, str]]]


def _over_http(
    base: str, token: str, *, clients: int, per_client: int, call: Call
) -> tuple[Timing, dict[int, int], list[str]]:
    """``clients`` API clients, each on its own keep-alive connection with
    the token, each making ``per_client`` calls."""
    port = int(base.rsplit(":", 1)[1])

    def prepare(index: int, count: int) -> Callable[[int], int]:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
        for _ in range(2):  # warm this keep-alive connection and a server thread's DB connection
            conn.request("GET", "/api/v1/authority/me/", headers=headers)
            conn.getresponse().read()

        def one(n: int) -> int:
            method, path, body, extra = call(index, n)
            conn.request(method, path, body, headers | extra)
            response = conn.getresponse()
            response.read()
            return response.status

        return one

    return _run_clients(clients, per_client, prepare)


def _http_grants(
    base: str, token: str, tickets: list[list[int]], per_client: int
) -> tuple[Timing, dict[int, int], list[str]]:
    body = grant_body()

    def grant(index: int, n: int) -> tuple[str, str, str | None, dict[str, str]]:
        mine = tickets[index]
        # A fresh Idempotency-Key per grant, as an integration that retries sends.
        path = f"/api/v1/tickets/{mine[n % len(mine)]}/restitutions/"
        return "POST", path, body, {"Idempotency-Key": uuid.uuid4().hex}

    return _over_http(base, token, clients=len(tickets), per_client=per_client, call=grant)


# The lightest call of the same API by the same caller: the token, the
# caller's policy and what is left of it (three queries, no writes).
LIGHTEST_CALL = "/api/v1/authority/me/"


def _http_lightest(
    base: str, token: str, *, clients: int, per_client: int
) -> tuple[Timing, dict[int, int], list[str]]:
    def read(index: int, n: int) -> tuple[str, str, str | None, dict[str, str]]:
        return "GET", LIGHTEST_CALL, None, {}

    return _over_http(base, token, clients=clients, per_client=per_client, call=read)


def _grant_queries(ticket_id: int, token: str) -> int:
    """One grant through the same view in-process, to count its queries."""
    client = Client(SERVER_NAME="127.0.0.1")
    with CaptureQueriesContext(connection) as captured:
        response = client.post(
            f"/api/v1/tickets/{ticket_id}/restitutions/",
            grant_body(),
            content_type="application/json",
            headers={"Authorization": f"Token {token}", "Idempotency-Key": uuid.uuid4().hex},
        )
    if response.status_code not in (201, 202):
        raise RuntimeError(f"A grant failed: {response.status_code} {response.content[:300]!r}")
    return len(captured)


def _ledger(agent: User, cap: Decimal) -> tuple[Decimal, str]:
    spent = SpendEntry.objects.filter(user=agent).aggregate(total=Sum("amount"))["total"]
    spent = spent if spent is not None else Decimal("0.00")
    counted = SpendCounter.objects.filter(
        scope=SpendCounter.Scope.GRANTER, subject_id=agent.pk
    ).aggregate(total=Sum("spent"))["total"] or Decimal("0.00")
    overspend = max(Decimal("0.00"), spent - cap)
    note = f"ledger: {spent} of {cap}, overspend {overspend}"
    note += (
        ", counter equals the ledger"
        if counted == spent
        else f", COUNTER {counted} DIFFERS FROM THE LEDGER"
    )
    return overspend, note


def _lightest_note(
    lightest: Timing, statuses: dict[int, int], *, work: Timing, floor: Timing
) -> str:
    """The lightest call's rate beside the floor's and the grants'."""
    rate, floor_rate, grant_rate = lightest.throughput, floor.throughput, work.throughput
    if not (rate and floor_rate and grant_rate):
        return f"lightest call: GET {LIGHTEST_CALL}, not measured"
    codes = ", ".join(f"{code}: {n}" for code, n in sorted(statuses.items()))
    return (
        f"lightest call: GET {LIGHTEST_CALL} by the same clients through the same server, "
        f"{rate:.0f} a second ({codes}), {rate / floor_rate:.2f} of the floor; "
        f"a grant {grant_rate / rate:.2f} of it"
    )


FLOOR_TABLES = ("bench_floor_spend", "bench_floor_counter")


def _floor_grants(*, clients: int, per_client: int, cap: Decimal) -> tuple[Timing, str]:
    """The same lock-check-insert transaction in raw psycopg, at the same
    isolation (PostgreSQL's default, READ COMMITTED, as Django's): lock the
    budget row, check the cap, insert the spend row, raise the counter."""
    with psycopg.connect(conninfo(), autocommit=True) as admin:
        for table in FLOOR_TABLES:
            admin.execute(f"DROP TABLE IF EXISTS {table}")  # our own constant names
        admin.execute(
            "CREATE TABLE bench_floor_counter (id bigint PRIMARY KEY, cap numeric(12, 2) "
            "NOT NULL, spent numeric(12, 2) NOT NULL DEFAULT 0, CHECK (spent <= cap))"
        )
        admin.execute(
            "CREATE TABLE bench_floor_spend (id bigserial PRIMARY KEY, counter_id bigint NOT NULL"
            " REFERENCES bench_floor_counter, ticket_id bigint NOT NULL, amount numeric(12, 2)"
            " NOT NULL, created_at timestamptz NOT NULL DEFAULT now())"
        )
        admin.execute("INSERT INTO bench_floor_counter (id, cap) VALUES (1, %s)", [cap])
        connections: list[psycopg.Connection[Any]] = []
        try:

            def prepare(index: int, count: int) -> Callable[[int], int]:
                conn = psycopg.connect(conninfo())
                connections.append(conn)

                def grant(n: int) -> int:
                    with conn.cursor() as cur:
                        cur.execute(
                            "SELECT spent, cap FROM bench_floor_counter WHERE id = 1 FOR UPDATE"
                        )
                        row = cur.fetchone()
                        if row is None:
                            raise RuntimeError("No budget row.")
                        spent, limit = row
                        granted = spent + AMOUNT <= limit
                        if granted:
                            cur.execute(
                                "INSERT INTO bench_floor_spend (counter_id, ticket_id, amount) "
                                "VALUES (1, %s, %s)",
                                [index * 1000 + n, AMOUNT],
                            )
                            cur.execute(
                                "UPDATE bench_floor_counter SET spent = spent + %s WHERE id = 1",
                                [AMOUNT],
                            )
                    conn.commit()
                    return 201 if granted else 202

                return grant

            timing, _, errors = _run_clients(clients, per_client, prepare)
            if errors:
                raise RuntimeError("; ".join(errors[:3]))
            row = admin.execute(
                "SELECT (SELECT coalesce(sum(amount), 0) FROM bench_floor_spend), "
                "(SELECT spent FROM bench_floor_counter WHERE id = 1)"
            ).fetchone()
            if row is None:
                raise RuntimeError("No floor ledger.")
            spent, counted = row
            overspend = max(Decimal("0.00"), spent - cap)
            note = f"floor ledger: {spent} of {cap}, overspend {overspend:.2f}"
            if counted != spent:
                note += f", COUNTER {counted} DIFFERS"
            return timing, note
        finally:
            for conn in connections:
                conn.close()
            for table in FLOOR_TABLES:
                admin.execute(f"DROP TABLE IF EXISTS {table}")


@workload("grants")
def grants(context: Context) -> Result:
    full = context.scale == "full"
    clients = 16 if full else 4
    per_client = context.repeat
    total = clients * per_client
    # The budget runs out halfway: half the grants are granted, half wait
    # for approval. +2: the in-process grants that count the queries (a
    # ticket's first grant creates its counters: the second is counted, as
    # every later grant runs).
    cap = AMOUNT * (total // 2 + 2)
    tag = run_tag()
    agent, token, tickets = grant_setup(clients=clients, tickets_per_client=4, cap=cap, tag=tag)
    _grant_queries(tickets[0][0], token)
    granted_queries = _grant_queries(tickets[0][0], token)

    def ready(base: str) -> bool:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", int(base.rsplit(":", 1)[1]), timeout=5)
            conn.request(
                "GET", "/api/v1/authority/me/", headers={"Authorization": f"Token {token}"}
            )
            ok = conn.getresponse().status == 200
            conn.close()
        except OSError:
            return False
        return ok

    # gunicorn, the production server: two processes (this machine's two
    # cores) of gthread workers, one thread per client in all.
    # How they reach the database: BENCH_POOLER (bench.servers), direct by default.
    workers, threads = 2, max(1, clients // 2)
    with gunicorn(workers=workers, threads=threads, probe=ready) as base:
        work, statuses, errors = _http_grants(base, token, tickets, per_client)
        # The same clients and server, each call the API's lightest: how
        # far the grants are from what a request costs at all.
        lightest, lightest_statuses, lightest_errors = _http_lightest(
            base, token, clients=clients, per_client=per_client
        )
    work.queries = granted_queries
    pending_queries = _grant_queries(tickets[0][0], token)
    _, ledger_note = _ledger(agent, cap)
    floor, floor_note = _floor_grants(clients=clients, per_client=per_client, cap=cap)

    granted = Restitution.objects.filter(agent=agent, status=Restitution.Status.GRANTED).count()
    pending = Restitution.objects.filter(
        agent=agent, status=Restitution.Status.PENDING_APPROVAL
    ).count()
    notes = [
        ledger_note,
        f"{granted} granted, {pending} pending approval; HTTP statuses "
        + ", ".join(f"{code}: {n}" for code, n in sorted(statuses.items())),
        f"queries per grant: {granted_queries} granted, {pending_queries} pending approval",
        describe_database(workers=workers, threads=threads),
        floor_note,
        _lightest_note(lightest, lightest_statuses, work=work, floor=floor),
    ]
    notes += [f"ERROR {e}" for e in (errors + lightest_errors)[:5]]
    return Result(
        name="grants",
        description=(
            f"{total} restitution grants by {clients} concurrent API clients (token auth, "
            "an Idempotency-Key each, keep-alive) for ONE agent's budget, through gunicorn "
            f"on 127.0.0.1; the budget runs out halfway. Floor: the same lock-check-insert "
            f"transaction in raw psycopg, {clients} threads."
        ),
        workload=work,
        floor=floor,
        notes=notes,
        targets={"ratio": 0.3, "overspend": 0},
    )
