"""Load data for the benchmarks: a realistic desk of N tickets, written with
PostgreSQL's COPY.

The rows are what the services would have written, so the pages read them as
they read real data: every status has the timestamps of the steps before it,
apologies and commitments belong to mishaps only, a rebuilding or restored
mishap has a kept (or late) promise and its follow-ups, restitutions have their
ledger lines and spend counters. The services themselves are used only for the
few staff and queues: two million messages through ``Message.objects.create``
would take hours, which is why this module writes with COPY, bypassing the
model layer's guards on purpose (the database's constraints still hold).

Everything is drawn from one seeded ``random.Random``: the same arguments give
the same desk.
"""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import IO, Any

from django.apps import apps
from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from accounts.roles import Role
from accounts.services import staff_upsert
from bench.corpus import (
    FIRST_NAMES,
    LAST_NAMES,
    TIME_ZONES,
)
from bench.desk import Desk, Staff, TicketPlan
from tickets.models import Queue
from tickets.services.queues import queue_create

AGENT_PREFIX = "bench-agent-"
SUPERVISOR_PREFIX = "bench-supervisor-"
QUEUE_PREFIX = "bench-"
SEARCH_INDEXES = ("tickets_ticketsearch_document",)
CHUNK = 2000  # tickets per round of COPYs: bounded memory, frequent progress

# The order matters for TRUNCATE ... CASCADE only in that every table the
# generator writes is named or reached; SpendCounter has no foreign key, nor
# has the outbox: its rows name what they deliver (messages, alerts,
# follow-ups, webhooks, all of tickets) by id, ids a reset hands out again.
RESET_TABLES = (
    "tickets_ticket",
    "tickets_queue",
    "accounts_customer",
    "recovery_spendcounter",
    "outbox_outboxitem",
)


class GenerateError(Exception):
    """The generator cannot run here (not PostgreSQL, data already present)."""


@dataclass
class Progress:
    """One line on ``out``, rewritten in place: percent done and rows/s."""

    total: int
    out: IO[str] = field(default_factory=lambda: sys.stderr)
    label: str = "Generating"
    done: int = 0
    rows: int = 0
    started: float = field(default_factory=time.perf_counter)
    _shown: float = 0.0

    def advance(self, done: int, rows: int) -> None:
        self.done += done
        self.rows += rows
        now = time.perf_counter()
        if now - self._shown >= 0.25 or self.done >= self.total:
            self._shown = now
            self.show()

    def show(self, suffix: str = "") -> None:
        elapsed = max(time.perf_counter() - self.started, 1e-9)
        percent = 100 * self.done / self.total if self.total else 100.0
        self.out.write(
            f"\r{self.label}: {percent:5.1f}% | {self.rows:,} rows | "
            f"{self.rows / elapsed:,.0f} rows/s | {elapsed:,.0f} s{suffix}   "
        )
        self.out.flush()

    def finish(self, suffix: str = "") -> None:
        self.show(suffix)
        self.out.write("\n")
        self.out.flush()


@dataclass
class Summary:
    counts: dict[str, int]
    seconds: float
    long_ticket_id: int


class Writer:
    """COPY rows into tables through the psycopg 3 cursor under Django's."""

    def __init__(self, cursor: Any) -> None:
        self.cursor = cursor
        self.counts: dict[str, int] = {}

    def copy(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
        written = 0
        sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN"  # our own table and column names
        with self.cursor.copy(sql) as copy:
            for row in rows:
                copy.write_row(row)
                written += 1
        self.counts[table] = self.counts.get(table, 0) + written
        return written


def next_id(cursor: Any, table: str) -> int:
    cursor.execute(f"SELECT COALESCE(MAX(id), 0) + 1 FROM {table}")  # noqa: S608
    return int(cursor.fetchone()[0])


def reset(cursor: Any) -> None:
    """Empty what the generator writes. TRUNCATE, not DELETE: the history's
    append-only trigger (tickets/0002) is a row-level BEFORE UPDATE OR DELETE
    trigger, which TRUNCATE does not fire, so the history is emptied without
    disabling it (and without a window where it would be off)."""
    # Django's foreign keys are checked at commit; rows written earlier in the
    # same transaction (a test's) leave checks pending, which TRUNCATE refuses.
    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    cursor.execute(f"TRUNCATE {', '.join(RESET_TABLES)} CASCADE")
    cursor.execute("SET CONSTRAINTS ALL DEFERRED")
    # Generated staff keep their accounts (staff_upsert updates them), but
    # their queue memberships went with the queues.


def _defer_search_documents(cursor: Any) -> None:
    """Turn off the triggers that keep the search documents (migration
    tickets/0018) for the load: a row per ticket, then two million
    single-row UPDATEs appending each message's words. ``_write_search_documents``
    writes each ticket's document once at the end instead. The triggers'
    WHEN reads ``tickets.search_document_later``: ALTER TABLE ... DISABLE
    TRIGGER would be refused while the load's foreign-key checks are pending."""
    cursor.execute("SET LOCAL tickets.search_document_later = on")


def _write_search_documents(cursor: Any, first_ticket_id: int) -> None:
    """One row per loaded ticket, from its subject and its messages in
    order: ``tickets_search_document``, the triggers' own definition."""
    cursor.execute(
        "INSERT INTO tickets_ticketsearch (ticket_id, document) "
        "SELECT t.id, tickets_search_document(t.subject, "
        "(SELECT string_agg(body, ' ' ORDER BY created_at, id) FROM tickets_message "
        "WHERE ticket_id = t.id)) FROM tickets_ticket t WHERE t.id >= %s",
        [first_ticket_id],
    )
    cursor.execute("SET LOCAL tickets.search_document_later = off")


def _drop_search_indexes(cursor: Any) -> list[str]:
    """Drop the full-text GIN index (migration tickets/0018) for the load and
    return its definition, to build it again once the rows are in.

    Maintaining a GIN index row by row made the load several times slower
    than building it once at the end; in the same transaction, nobody ever
    sees the table without it."""
    cursor.execute(
        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
        "AND indexname = ANY(%s)",
        [list(SEARCH_INDEXES)],
    )
    found = cursor.fetchall()
    for name, _ in found:
        cursor.execute(f"DROP INDEX {name}")
    return [definition for _, definition in found]


def ensure_staff(*, tickets: int) -> Staff:
    """Agents, supervisors and queues through the services: a few rows."""
    agent_count = max(4, min(60, tickets // 5000))
    supervisor_count = max(1, agent_count // 8)
    queue_count = max(2, min(12, agent_count // 4))
    agents = [
        staff_upsert(
            username=f"{AGENT_PREFIX}{i:02d}",
            role=Role.AGENT,
            email=f"{AGENT_PREFIX}{i:02d}@staff.example.com",
            first_name=FIRST_NAMES[i % len(FIRST_NAMES)],
            last_name=LAST_NAMES[(i * 7) % len(LAST_NAMES)],
        ).user
        for i in range(agent_count)
    ]
    supervisors = [
        staff_upsert(
            username=f"{SUPERVISOR_PREFIX}{i:02d}",
            role=Role.SUPERVISOR,
            email=f"{SUPERVISOR_PREFIX}{i:02d}@staff.example.com",
        ).user
        for i in range(supervisor_count)
    ]
    queues: list[Queue] = []
    members: dict[int, list[int]] = {}
    for q in range(queue_count):
        # Each agent works two queues; each queue has about agent_count / 2 members.
        team = [a for i, a in enumerate(agents) if q in (i % queue_count, (i + 1) % queue_count)]
        slug = f"{QUEUE_PREFIX}queue-{q + 1:02d}"
        queue = Queue.objects.filter(slug=slug).first()
        if queue is None:
            queue = queue_create(name=f"Bench queue {q + 1:02d}", slug=slug, members=team)
        else:
            queue.members.set(team)
        queues.append(queue)
        members[queue.pk] = [a.pk for a in team]
    return Staff(agents=agents, supervisors=supervisors, queues=queues, members=members)


COLUMNS = {
    "accounts_customer": (
        "id", "name", "email", "time_zone", "locale", "created_at", "updated_at",
    ),
    "tickets_ticket": (
        "id", "subject", "kind", "severity", "channel", "status", "customer_id", "queue_id",
        "assignee_id", "created_by_id", "our_part", "created_at", "updated_at",
        "clock_started_at", "acknowledged_at", "apologized_at", "committed_at", "resolved_at",
        "closed_at", "restored_at", "reopened_at", "rebuilding_ended_at",
        "acknowledge_breached_at", "apologize_breached_at", "is_repeat_failure", "repeat_of_id",
    ),
    "tickets_message": (
        "id", "ticket_id", "public", "author_kind", "author_id", "body", "step", "created_at",
        "email_message_id", "delivery_status", "delivery_attempts", "delivered_at",
    ),
    "tickets_ticketevent": (
        "id", "ticket_id", "actor_id", "action", "from_status", "to_status", "payload",
        "created_at",
    ),
    "tickets_commitment": (
        "id", "ticket_id", "promise", "due_at", "value_restated", "made_by_id", "created_at",
        "fulfilled_at", "fulfilment_note",
    ),
    "recovery_restitution": (
        "id", "ticket_id", "customer_id", "agent_id", "kind", "amount", "currency", "reason",
        "customer_loss", "status", "charged_to_id", "counter_ids", "created_at", "voided_at",
        "voided_by_id", "void_reason",
    ),
    "recovery_spendentry": (
        "id", "user_id", "restitution_id", "ticket_id", "customer_id", "amount", "currency",
        "created_at",
    ),
    "recovery_spendcounter": (
        "id", "scope", "subject_id", "period", "period_start", "currency", "spent",
    ),
    "recovery_followup": (
        "id", "ticket_id", "customer_id", "step_number", "offset_days", "subject_template",
        "body_template", "due_at", "status", "attempts", "queued_at", "sent_at", "created_at",
    ),
    "recovery_feedback": (
        "id", "ticket_id", "customer_id", "followup_id", "rating", "comment", "created_at",
    ),
}  # fmt: skip


# Columns the generator leaves to the model's defaults. COPY must be given
# them explicitly (Django defaults live in Python, not in the database), and
# they are read from the models, so a field added later needs no change here.
def _defaults(table: str) -> dict[str, Any]:
    model = next(m for m in apps.get_models() if m._meta.db_table == table)
    given = set(COLUMNS[table])
    return {
        str(field.column): field.get_default()
        for field in model._meta.concrete_fields
        if field.column not in given and not field.primary_key
    }


def _with_defaults(table: str, rows: Iterable[Sequence[Any]]) -> Iterator[Sequence[Any]]:
    extra = tuple(_defaults(table).values())
    if not extra:
        yield from rows
        return
    for row in rows:
        yield (*row, *extra)


def _columns(table: str) -> tuple[str, ...]:
    return (*COLUMNS[table], *_defaults(table))


def generate(
    *,
    tickets: int,
    messages_per_ticket: int,
    seed: int = 8,
    reset_first: bool = False,
    long_conversation: int = 500,
    out: IO[str] | None = None,
) -> Summary:
    """Write a desk of ``tickets`` tickets with about ``messages_per_ticket``
    messages each (one ticket has ``long_conversation`` messages), in one
    transaction: interrupted, it leaves nothing behind."""
    if connection.vendor != "postgresql":
        raise GenerateError(
            f"generate_load_data needs PostgreSQL (it writes with COPY); this database is "
            f"{connection.vendor}. Point DATABASE_URL at a PostgreSQL database."
        )
    if tickets < 1 or messages_per_ticket < 1:
        raise GenerateError("--tickets and --messages-per-ticket must be at least 1.")
    started = time.perf_counter()
    rng = random.Random(seed)  # noqa: S311 - made-up data, reproducible by seed
    now = timezone.now()
    with transaction.atomic(), connection.cursor() as django_cursor:
        cursor = django_cursor.cursor  # psycopg's own cursor, which has copy()
        if reset_first:
            reset(cursor)
        cursor.execute("SELECT COUNT(*) FROM tickets_ticket")
        existing = cursor.fetchone()[0]
        if existing:
            raise GenerateError(
                f"The database already holds {existing:,} tickets. Pass --reset to replace "
                "them with generated data (this empties tickets, queues and customers), or "
                "point DATABASE_URL at an empty database."
            )
        staff = ensure_staff(tickets=tickets)
        writer = Writer(cursor)
        deferred = _drop_search_indexes(cursor)
        _defer_search_documents(cursor)
        ids = {table: next_id(cursor, table) for table in COLUMNS}
        customers = max(1, tickets // 4)
        customer_ids = range(ids["accounts_customer"], ids["accounts_customer"] + customers)
        progress = Progress(total=tickets, out=out or sys.stderr)
        progress.advance(0, writer.copy("accounts_customer", COLUMNS["accounts_customer"],
                                        _customers(rng, customer_ids, now)))  # fmt: skip
        desk = Desk(
            rng=rng,
            now=now,
            staff=staff,
            customer_ids=customer_ids,
            ids=ids,
            messages_per_ticket=messages_per_ticket,
            currency=settings.DEFAULT_CURRENCY,
            domain=settings.HELPDESK_EMAIL_DOMAIN,
        )
        defaults = settings.HELPDESK_AUTHORITY_DEFAULTS["agent"]
        limits = {k: Decimal(str(v)) for k, v in defaults.items() if k.endswith("_limit")}
        long_ticket_id = ids["tickets_ticket"]
        done = 0
        while done < tickets:
            size = min(CHUNK, tickets - done)
            plans = [
                desk.plan_ticket(long_conversation=long_conversation if done + i == 0 else 0)
                for i in range(size)
            ]
            rows = _write_chunk(writer, desk, plans, limits)
            done += size
            progress.advance(size, rows)
        progress.advance(
            0,
            writer.copy("recovery_spendcounter", COLUMNS["recovery_spendcounter"], _counters(desk)),
        )
        progress.finish(" | search documents and index ...")
        _write_search_documents(cursor, long_ticket_id)
        # The foreign-key checks of the COPY'd rows are pending until commit,
        # and CREATE INDEX refuses a table with pending checks: run them now
        # (they would run at commit anyway).
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
        for definition in deferred:
            cursor.execute(definition)
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        for table in COLUMNS:
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                f"(SELECT COALESCE(MAX(id), 1) FROM {table}))"
            )
    # Statistics of the new rows, so the planner sizes the pages' queries
    # right from the first request, and the visibility map, so counts and
    # index-only scans skip the heap: the state autovacuum keeps a live
    # database in, reached now rather than some minutes into the benchmark.
    # (VACUUM cannot run in a transaction, as in the suite's small run.)
    command = "ANALYZE" if connection.in_atomic_block else "VACUUM ANALYZE"
    (out or sys.stderr).write(f"{command} ...\n")
    with connection.cursor() as django_cursor:
        django_cursor.execute(command)
        if command == "VACUUM ANALYZE":
            _checkpoint(django_cursor, out or sys.stderr)
    return Summary(
        counts=writer.counts, seconds=time.perf_counter() - started, long_ticket_id=long_ticket_id
    )


def _checkpoint(cursor: Any, out: Any) -> None:
    """Write the new rows' pages to disk now, so the benchmark that follows
    does not share the disk with a checkpoint flushing gigabytes (measured:
    every floor three times slower in the minutes after generating)."""
    out.write("CHECKPOINT ...\n")
    try:
        cursor.execute("CHECKPOINT")
    except DatabaseError as exc:  # needs a superuser or pg_checkpoint
        out.write(f"CHECKPOINT skipped: {exc}".strip() + "\n")


def _customers(rng: random.Random, ids: range, now: datetime) -> Iterator[tuple[Any, ...]]:
    for pk in ids:
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        joined = now - timedelta(days=rng.uniform(1, 900))
        yield (
            pk, f"{first} {last}", f"{first.lower()}.{last.lower()}.{pk}@customer.example.com",
            rng.choice(TIME_ZONES), rng.choice(("en", "en", "en", "de", "fr", "pt-BR", "es")),
            joined, joined,
        )  # fmt: skip


def _write_chunk(
    writer: Writer, desk: Desk, plans: list[TicketPlan], limits: dict[str, Decimal]
) -> int:
    rows = writer.copy("tickets_ticket", COLUMNS["tickets_ticket"],
                       (desk.ticket_row(p) for p in plans))  # fmt: skip
    rows += writer.copy(
        "tickets_message",
        _columns("tickets_message"),
        _with_defaults("tickets_message", (m for p in plans for m in desk.messages(p))),
    )
    rows += writer.copy("tickets_ticketevent", COLUMNS["tickets_ticketevent"],
                        (e for p in plans for e in desk.events(p)))  # fmt: skip
    commitments = [c for p in plans if (c := desk.commitment(p))]
    rows += writer.copy("tickets_commitment", COLUMNS["tickets_commitment"], commitments)
    grants = [g for p in plans if (g := desk.restitution(p, limits))]
    rows += writer.copy("recovery_restitution", COLUMNS["recovery_restitution"],
                        (row for row, _ in grants))  # fmt: skip
    rows += writer.copy("recovery_spendentry", COLUMNS["recovery_spendentry"],
                        (line for _, ledger in grants for line in ledger))  # fmt: skip
    followups, ratings = [], []
    for plan in plans:
        sent, rated = desk.followups(plan)
        followups += sent
        ratings += rated
        if (rating := desk.question_rating(plan)) is not None:
            ratings.append(rating)
    rows += writer.copy(
        "recovery_followup",
        _columns("recovery_followup"),
        _with_defaults("recovery_followup", followups),
    )
    rows += writer.copy("recovery_feedback", COLUMNS["recovery_feedback"], ratings)
    return rows


def _counters(desk: Desk) -> Iterator[tuple[Any, ...]]:
    for (scope, subject, period, start), (pk, spent) in desk.counters.items():
        yield (pk, scope, subject, period, start, desk.currency, spent)
