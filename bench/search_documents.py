"""The search documents during a bulk load: their triggers deferred and their
GIN index dropped while the rows go in, each ticket's document written once
and the index built again at the end (migrations tickets/0017 and 0018)."""

from __future__ import annotations

from typing import Any

SEARCH_INDEXES = ("tickets_ticketsearch_document",)


def defer_search_documents(cursor: Any) -> None:
    """Turn off the triggers that keep the search documents (migration
    tickets/0018) for the load: a row per ticket, then two million
    single-row UPDATEs appending each message's words. ``write_search_documents``
    writes each ticket's document once at the end instead. The triggers'
    WHEN reads ``tickets.search_document_later``: ALTER TABLE ... DISABLE
    TRIGGER would be refused while the load's foreign-key checks are pending."""
    cursor.execute("SET LOCAL tickets.search_document_later = on")


def write_search_documents(cursor: Any, first_ticket_id: int) -> None:
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


def drop_search_indexes(cursor: Any) -> list[str]:
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
