"""The write workloads, each beside its floor in the same run: restitution
grants by concurrent API clients on one budget, follow-up dispatch by a
Celery worker to an SMTP sink, and inbound mail ingest.

Each creates the data it needs through the services (tagged with a fresh
run id, so reruns on the same database never collide) and runs against
real servers on 127.0.0.1 that it starts and always stops (``bench.servers``).
"""

import http.client
import json
import os
import smtplib
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import timedelta
from decimal import Decimal
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any

import psycopg
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, QuerySet, Sum
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings
from django.utils import timezone

from accounts.models import User
from accounts.roles import Role
from accounts.services import staff_issue_token, staff_upsert
from bench.measure import Result, Timing
from bench.servers import celery_worker, conninfo, describe_database, gunicorn, smtp_sink
from bench.workloads import Context, workload
from helpdesk.celery import app as celery_app
from inbound.services import inbound_receive
from outbox.dispatch import outbox_dispatch
from outbox.models import OutboxItem
from outbox.services import outbox_enqueue, outbox_item
from recovery.models import FollowUp, Restitution, SpendEntry
from recovery.models.authority import SpendCounter
from recovery.services import authority_policy_set
from recovery.services.followup_delivery import SOURCE as FOLLOWUPS
from recovery.services.followup_emails import build_followup_email, email_contexts
from recovery.tasks import sweep_followups
from tickets.models import Kind, Severity
from tickets.services import (
    ticket_acknowledge,
    ticket_apologize,
    ticket_commit,
    ticket_create,
    ticket_resolve,
)


def _tag() -> str:
    return uuid.uuid4().hex[:8]


def _percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "—"


@contextmanager
def _counting_queries() -> Iterator[list[int]]:
    """Counts this thread's queries, cheaper than capturing them (no debug cursor)."""
    count = [0]

    def counter(execute: Callable[..., Any], *args: Any) -> Any:
        count[0] += 1
        return execute(*args)

    with connection.execute_wrapper(counter):
        yield count


# --- 1. grants: 16 concurrent API clients on one budget -------------------------------------

AMOUNT = Decimal("5.00")


def _grant_setup(*, clients: int, tickets_per_client: int, cap: Decimal, tag: str) -> Any:
    """An agent whose per-period budget is ``cap`` (the binding limit: the
    per-incident and per-customer limits are far above what any ticket or
    customer receives), a token, and mishaps assigned to the agent, each
    client its own (so the shared budget is the only contended row)."""
    supervisor = staff_upsert(username=f"bench-sup-{tag}", role=Role.SUPERVISOR).user
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
            ).pk
            for t in range(tickets_per_client)
        ]
        for c in range(clients)
    ]
    return agent, token, tickets


def _grant_body() -> str:
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


def _http_grants(
    base: str, token: str, tickets: list[list[int]], per_client: int
) -> tuple[Timing, dict[int, int], list[str]]:
    port = int(base.rsplit(":", 1)[1])
    body = _grant_body()

    def prepare(index: int, count: int) -> Callable[[int], int]:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
        for _ in range(2):  # warm this keep-alive connection and a server thread's DB connection
            conn.request("GET", "/api/v1/authority/me/", headers=headers)
            conn.getresponse().read()
        mine = tickets[index]

        def grant(n: int) -> int:
            # A fresh Idempotency-Key per grant, as an integration that retries sends.
            conn.request(
                "POST",
                f"/api/v1/tickets/{mine[n % len(mine)]}/restitutions/",
                body,
                headers | {"Idempotency-Key": uuid.uuid4().hex},
            )
            response = conn.getresponse()
            response.read()
            return response.status

        return grant

    return _run_clients(len(tickets), per_client, prepare)


def _grant_queries(ticket_id: int, token: str) -> int:
    """One grant through the same view in-process, to count its queries."""
    client = Client(SERVER_NAME="127.0.0.1")
    with CaptureQueriesContext(connection) as captured:
        response = client.post(
            f"/api/v1/tickets/{ticket_id}/restitutions/",
            _grant_body(),
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
    # for approval. +1: the in-process grant that counts the queries.
    cap = AMOUNT * (total // 2 + 1)
    tag = _tag()
    agent, token, tickets = _grant_setup(clients=clients, tickets_per_client=4, cap=cap, tag=tag)
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
    ]
    notes += [f"ERROR {e}" for e in errors[:5]]
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


# --- 2. dispatch: due follow-ups sent by one Celery worker to an SMTP sink ---------------------


def _rebuilding_tickets(*, count: int, tag: str) -> list[int]:
    """Mishaps walked through the whole recovery by the services; resolving
    each schedules its follow-up plan (three rows by default)."""
    agent = staff_upsert(username=f"bench-dispatch-{tag}", role=Role.AGENT).user
    ids = []
    for n in range(count):
        ticket = ticket_create(
            actor=agent,
            subject=f"Order {n} delivered a week late",
            body="It was a birthday present and it came after the party.",
            customer_email=f"followup-{tag}-{n}@bench.example",
            customer_name=f"Customer {n}",
            kind=Kind.MISHAP,
            severity=Severity.MINOR,
        )
        ticket = ticket_acknowledge(
            ticket=ticket,
            actor=agent,
            message="We have your message about the late order.",
            our_part="We shipped it from the wrong warehouse.",
        )
        ticket = ticket_apologize(ticket=ticket, actor=agent, message="We are sorry.")
        ticket = ticket_commit(
            ticket=ticket,
            actor=agent,
            promise="We will refund the shipping and check the warehouse rules.",
            due_at=timezone.now() + timedelta(days=2),
        )
        ticket = ticket_resolve(ticket=ticket, actor=agent, message="Refunded, rules fixed.")
        ids.append(ticket.pk)
    return ids


def _due_followups(*, total: int, tag: str, tickets: int) -> tuple[list[int], list[FollowUp]]:
    """``total`` due follow-ups on rebuilding tickets, plus a batch more
    (HELPDESK_OUTBOX_BATCH, the samples, not swept): one dispatch task's
    batch, to count the queries per mail, the first of which gives the floor
    its message."""
    batch = settings.HELPDESK_OUTBOX_BATCH
    ticket_ids = _rebuilding_tickets(count=tickets, tag=tag)
    scheduled = list(FollowUp.objects.filter(ticket_id__in=ticket_ids).order_by("id"))
    # Benchmark setup, not a write path of the product: the services schedule
    # three follow-ups per ticket, and walking 7,000 tickets through them would
    # take longer than the measurement; more rows like theirs go in at once.
    extra = [
        FollowUp(
            ticket_id=row.ticket_id,
            customer_id=row.customer_id,
            step_number=row.step_number + 3 * (1 + n // len(scheduled)),
            offset_days=row.offset_days,
            subject_template=row.subject_template,
            body_template=row.body_template,
            due_at=row.due_at,
        )
        for n, row in enumerate(
            scheduled[i % len(scheduled)] for i in range(total + batch - len(scheduled))
        )
    ]
    FollowUp.objects.bulk_create(extra, batch_size=2000)
    rows = FollowUp.objects.filter(ticket_id__in=ticket_ids).order_by("id")
    samples = list(rows.select_related("customer", "ticket__customer").reverse()[:batch])
    if rows.count() != total + batch:
        raise RuntimeError("The follow-ups were not all created.")
    # The samples wait queued with their outbox rows, as the sweep leaves
    # them, for the in-process dispatch (the task this queues is purged).
    with transaction.atomic():
        FollowUp.objects.filter(pk__in=[s.pk for s in samples]).update(
            status=FollowUp.Status.QUEUED, queued_at=timezone.now()
        )
        outbox_enqueue(
            [
                outbox_item(
                    source=FOLLOWUPS,
                    source_id=s.pk,
                    kind=OutboxItem.Kind.EMAIL,
                    message_id=s.message_id,
                    recipient=s.customer.email,
                )
                for s in samples
            ]
        )
    FollowUp.objects.filter(ticket_id__in=ticket_ids, status=FollowUp.Status.SCHEDULED).update(
        due_at=timezone.now() - timedelta(minutes=1)
    )
    return ticket_ids, samples


def _smtp_floor(*, port: int, count: int, raw: bytes, sender: str) -> Timing:
    """A raw smtplib loop: one connection, the same rendered follow-up each time."""
    timing = Timing()
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
        started = time.perf_counter()
        for n in range(count):
            before = time.perf_counter()
            smtp.sendmail(sender, [f"customer-{n}@bench.example"], raw)
            timing.samples.append(time.perf_counter() - before)
        timing.wall = time.perf_counter() - started
    timing.operations = count
    return timing


def _sweep_and_wait(*, mine: QuerySet[FollowUp], total: int, timeout: float) -> tuple[Timing, int]:
    """What beat does, as fast as it can: sweep until nothing is due, then
    wait until every follow-up is recorded sent (or failed for good): the
    outbox marks each row sent as the server takes it, and the follow-ups
    are recorded at the end of each batch."""
    started = time.perf_counter()
    sweeps = 0
    while sweep_followups():  # the beat task's own code, 500 rows a sweep
        sweeps += 1
    pause = 0.02 if total < 1000 else 0.1
    finished = [FollowUp.Status.SENT, FollowUp.Status.FAILED]
    while True:
        done = mine.filter(status__in=finished).count()
        if done >= total or time.perf_counter() - started > timeout:
            break
        time.sleep(pause)
    wall = time.perf_counter() - started
    sent = mine.filter(status=FollowUp.Status.SENT).count()
    return Timing(operations=sent, wall=wall), sweeps


@workload("dispatch")
def dispatch(context: Context) -> Result:
    full = context.scale == "full"
    total = 20_000 if full else 30
    tag = _tag()
    ticket_ids, samples = _due_followups(total=total, tag=tag, tickets=100 if full else 10)
    # Setup queued its own mails (acknowledgements, apologies...) on the
    # broker: they are not what is measured.
    celery_app.control.purge()
    # Two processes a core (BENCH_WORKER_CONCURRENCY to change it): Celery's
    # default of one a core suits work that computes; a sender spends much
    # of each mail waiting on the mail server and on the database's commits.
    pool = "prefork"
    concurrency = int(os.environ.get("BENCH_WORKER_CONCURRENCY") or 2 * (os.cpu_count() or 1))
    sample_ids = [s.pk for s in samples]
    sample_items = list(
        OutboxItem.objects.filter(source=FOLLOWUPS, source_id__in=sample_ids).values_list(
            "pk", flat=True
        )
    )
    mine = FollowUp.objects.filter(ticket_id__in=ticket_ids).exclude(pk__in=sample_ids)
    # The sweep takes every due follow-up in the database, not only ours.
    others_due = (
        FollowUp.objects.filter(status=FollowUp.Status.SCHEDULED, due_at__lte=timezone.now())
        .exclude(ticket_id__in=ticket_ids)
        .count()
    )
    with smtp_sink() as sink:
        sample = samples[0]
        message = build_followup_email(sample, email_contexts([sample])[sample.pk]).message()
        floor = _smtp_floor(
            port=sink.port,
            count=total,
            # As Django's SMTP backend sends it (its MIME classes take a linesep).
            raw=message.as_bytes(linesep="\r\n"),  # type: ignore[call-arg]
            sender=settings.DEFAULT_FROM_EMAIL,
        )
        with (
            override_settings(
                EMAIL_BACKEND="core.mail.SMTPBackend",
                EMAIL_HOST="127.0.0.1",
                EMAIL_PORT=sink.port,
                EMAIL_USE_TLS=False,
                EMAIL_USE_SSL=False,
                EMAIL_HOST_USER="",
                EMAIL_HOST_PASSWORD="",
                HELPDESK_FOLLOWUP_SEND_ONLY_IN_WINDOW=False,
            ),
            _counting_queries() as queries,
        ):
            if len(outbox_dispatch(item_ids=sample_items).sent) != len(samples):
                raise RuntimeError("The sample follow-ups were not all sent.")
        with celery_worker(smtp_port=sink.port, pool=pool, concurrency=concurrency):
            work, sweeps = _sweep_and_wait(mine=mine, total=total, timeout=1800 if full else 60)
    # Amortised over one dispatch task's batch, as the worker runs them.
    work.queries = queries[0] / len(samples)
    statuses = dict(mine.values_list("status").annotate(n=Count("id")))
    notes = [
        f"sent {statuses.get(FollowUp.Status.SENT, 0)} of {total} follow-ups"
        + "".join(f", {n} {status}" for status, n in sorted(statuses.items()) if status != "sent"),
        f"the sink accepted {sink.received} messages (floor {total} + samples {len(samples)}"
        f" + workload {total}"
        + (
            f" + {others_due} other due follow-ups in this database, swept too)"
            if others_due
            else ")"
        ),
        f"{sweeps} sweeps of up to 500, in outbox dispatch tasks of "
        f"{settings.HELPDESK_OUTBOX_BATCH}; worker: --pool {pool} --concurrency {concurrency}",
        f"{work.queries:.2f} queries per mail, amortised over a batch of {len(samples)} "
        "(the batch's claim and reads, the outbox row's mark-sent UPDATE per mail, "
        "then the follow-ups recorded sent together)",
        "the night guard (HELPDESK_FOLLOWUP_SEND_ONLY_IN_WINDOW) is off for the worker",
    ]
    return Result(
        name="dispatch",
        description=(
            f"{total} due follow-ups swept (the beat task's code, back to back) and sent by "
            f"ONE Celery worker on Redis ({pool}, {concurrency} processes) through the outbox "
            "to a local SMTP sink; throughput is sent mails/s until the outbox has the last "
            "marked sent; queries/op are per mail, amortised over one dispatch task's batch. "
            "Floor: a raw smtplib loop over "
            "one connection, the same rendered follow-up each time, to the same sink."
        ),
        workload=work,
        floor=floor,
        notes=notes,
        targets={"ratio": 0.5},
    )


# --- 3. ingest: inbound mail through the service -----------------------------------------------

KINDS = ("new ticket", "reply", "auto-reply", "attachment")
PARAGRAPH = (
    "I ordered the blue kettle three weeks ago and it still has not arrived. The tracking "
    "page has said 'in transit' for ten days and nobody answers the phone. "
)


def _mail(
    *,
    sender: str,
    subject: str,
    body: str,
    message_id: str,
    in_reply_to: str = "",
    headers: dict[str, str] | None = None,
    attachment: bytes = b"",
) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "Helpdesk <help@desk.example>"
    message["Subject"] = subject
    message["Date"] = "Mon, 06 Jan 2025 09:30:00 +0100"
    message["Message-ID"] = message_id
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
        message["References"] = in_reply_to
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(body)
    message.add_alternative(
        "<html><body>" + "".join(f"<p>{line}</p>" for line in body.splitlines()) + "</body></html>",
        subtype="html",
    )
    if attachment:
        message.add_attachment(
            attachment, maintype="image", subtype="png", filename="broken-kettle.png"
        )
    return message.as_bytes()


def _inbound_round(tag: str, n: int) -> list[tuple[str, bytes]]:
    """One round of the mix, as mail clients write it: a new ticket, the
    customer's reply threading by In-Reply-To, an out-of-office reply, and a
    new ticket with a photo attached."""
    customer = f"Sam Doe {n} <sam-{tag}-{n}@customer.example>"
    first = f"<order-{tag}-{n}@customer.example>"
    photo = bytes(range(256)) * 80  # 20 KB
    return [
        (
            "new ticket",
            _mail(
                sender=customer,
                subject=f"Order {n}: where is my kettle?",
                body=PARAGRAPH * 3,
                message_id=first,
            ),
        ),
        (
            "reply",
            _mail(
                sender=customer,
                subject=f"Re: Order {n}: where is my kettle?",
                body="One more thing: I need it before Friday.\n\n> " + PARAGRAPH,
                message_id=f"<reply-{tag}-{n}@customer.example>",
                in_reply_to=first,
            ),
        ),
        (
            "auto-reply",
            _mail(
                sender=customer,
                subject="Out of office: back on Monday",
                body="I am away until Monday and will read your message then.",
                message_id=f"<away-{tag}-{n}@customer.example>",
                headers={"Auto-Submitted": "auto-replied", "Precedence": "auto_reply"},
            ),
        ),
        (
            "attachment",
            _mail(
                sender=f"Kim Roe {n} <kim-{tag}-{n}@customer.example>",
                subject="The kettle arrived broken (photo attached)",
                body="The handle came off the first time I used it. Photo attached.",
                message_id=f"<photo-{tag}-{n}@customer.example>",
                attachment=photo,
            ),
        ),
    ]


SCRATCH = "bench_scratch_inbound"


@workload("ingest")
def ingest(context: Context) -> Result:
    tag = _tag()
    warmup = [m for n in range(2) for m in _inbound_round(tag, -1 - n)]
    mail = [m for n in range(context.repeat) for m in _inbound_round(tag, n)]
    parser = BytesParser(policy=policy.default)

    for _, raw in warmup:
        inbound_receive(raw=raw, source="bench")
    work = Timing()
    queries: dict[str, list[int]] = {kind: [] for kind in KINDS}
    outcomes: dict[str, int] = {}
    started = time.perf_counter()
    for kind, raw in mail:
        with _counting_queries() as count:
            before = time.perf_counter()
            received = inbound_receive(raw=raw, source="bench")
            work.samples.append(time.perf_counter() - before)
        queries[kind].append(count[0])
        outcome = received.email.outcome or received.email.status
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    work.wall = time.perf_counter() - started
    work.operations = len(mail)
    work.queries = sum(sum(q) for q in queries.values()) / len(mail)

    floor = Timing()
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS {SCRATCH} "
            "(id bigserial PRIMARY KEY, raw bytea NOT NULL, "
            "received_at timestamptz NOT NULL DEFAULT now())"
        )
        try:
            insert = f"INSERT INTO {SCRATCH} (raw) VALUES (%s)"  # noqa: S608 (our constant name)
            for _, raw in warmup:
                parser.parsebytes(raw)
                cursor.execute(insert, [raw])
            started = time.perf_counter()
            for _, raw in mail:
                before = time.perf_counter()
                parser.parsebytes(raw)
                cursor.execute(insert, [raw])  # autocommit: one transaction each, as the service's
                floor.samples.append(time.perf_counter() - before)
            floor.wall = time.perf_counter() - started
            floor.operations = len(mail)
        finally:
            cursor.execute(f"DROP TABLE IF EXISTS {SCRATCH}")
    floor.queries = 1

    return Result(
        name="ingest",
        description=(
            f"{len(mail)} raw emails through inbound_receive, one at a time: rounds of a new "
            "ticket, a reply threading by In-Reply-To, an auto-reply, a new ticket with a 20 KB "
            "attachment (text and HTML each). Floor: BytesParser(policy=default) on the same "
            "bytes plus one INSERT of them into a scratch table."
        ),
        workload=work,
        floor=floor,
        notes=[
            "outcomes: " + ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items())),
            "queries per message: "
            + ", ".join(f"{kind} {sum(q) / len(q):.0f}" for kind, q in queries.items() if q),
        ],
        targets={"ratio": 0.3},
    )
