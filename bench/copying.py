"""Rows into PostgreSQL with COPY, bypassing the model layer on purpose (the
database's constraints still hold): the columns the generator writes for
each table, the model defaults COPY must be given for the others, and the
next free id of a table."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from django.apps import apps


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


def with_defaults(table: str, rows: Iterable[Sequence[Any]]) -> Iterator[Sequence[Any]]:
    extra = tuple(_defaults(table).values())
    if not extra:
        yield from rows
        return
    for row in rows:
        yield (*row, *extra)


def copy_columns(table: str) -> tuple[str, ...]:
    """Every column COPY writes to ``table``: the generator's, then the defaults'."""
    return (*COLUMNS[table], *_defaults(table))
