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

This module runs the load; the rows are drawn by ``bench.desk`` (with
``bench.plans`` and ``bench.recovery_rows``), written by ``bench.copying``,
and the staff made by ``bench.staff``; ``bench.search_documents`` defers the
search documents and their index to the end.
"""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import IO, Any

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from bench.copying import COLUMNS, Writer, copy_columns, next_id, with_defaults
from bench.corpus import (
    FIRST_NAMES,
    LAST_NAMES,
    TIME_ZONES,
)
from bench.desk import Desk
from bench.plans import TicketPlan
from bench.recovery_rows import commitment_row, followup_rows, question_rating_row, restitution_rows
from bench.search_documents import (
    defer_search_documents,
    drop_search_indexes,
    write_search_documents,
)
from bench.staff import ensure_staff

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
        deferred = drop_search_indexes(cursor)
        defer_search_documents(cursor)
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
        write_search_documents(cursor, long_ticket_id)
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
        copy_columns("tickets_message"),
        with_defaults("tickets_message", (m for p in plans for m in desk.messages(p))),
    )
    rows += writer.copy("tickets_ticketevent", COLUMNS["tickets_ticketevent"],
                        (e for p in plans for e in desk.events(p)))  # fmt: skip
    commitments = [c for p in plans if (c := commitment_row(desk, p))]
    rows += writer.copy("tickets_commitment", COLUMNS["tickets_commitment"], commitments)
    grants = [g for p in plans if (g := restitution_rows(desk, p, limits))]
    rows += writer.copy("recovery_restitution", COLUMNS["recovery_restitution"],
                        (row for row, _ in grants))  # fmt: skip
    rows += writer.copy("recovery_spendentry", COLUMNS["recovery_spendentry"],
                        (line for _, ledger in grants for line in ledger))  # fmt: skip
    followups, ratings = [], []
    for plan in plans:
        sent, rated = followup_rows(desk, plan)
        followups += sent
        ratings += rated
        if (rating := question_rating_row(desk, plan)) is not None:
            ratings.append(rating)
    rows += writer.copy(
        "recovery_followup",
        copy_columns("recovery_followup"),
        with_defaults("recovery_followup", followups),
    )
    rows += writer.copy("recovery_feedback", COLUMNS["recovery_feedback"], ratings)
    return rows


def _counters(desk: Desk) -> Iterator[tuple[Any, ...]]:
    for (scope, subject, period, start), (pk, spent) in desk.counters.items():
        yield (pk, scope, subject, period, start, desk.currency, spent)
