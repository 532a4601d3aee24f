"""GIN indexes for the ticket search's full-text queries (tickets.selectors._search),
on PostgreSQL only: SQLite, the local demo, searches by substring instead.

The indexed expressions are exactly what ``SearchVector(field, config="english")``
compiles to, so the planner matches them; the index names are not in the
models' Meta because Django's GinIndex would be created on SQLite too.
"""

from django.db import migrations

INDEXES = {
    "tickets_message_body_fts": ("tickets_message", "body"),
    "tickets_ticket_subject_fts": ("tickets_ticket", "subject"),
}


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, (table, column) in INDEXES.items():
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON {table} "
            f"USING gin (to_tsvector('english'::regconfig, COALESCE({column}, ''::text)))"
        )


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("tickets", "0008_message_from_address")]

    operations = [migrations.RunPython(create_indexes, drop_indexes)]
