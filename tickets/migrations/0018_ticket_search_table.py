"""Each ticket's search document moves from a column of ``tickets_ticket``
(0017) to a table of its own, ``tickets_ticketsearch`` (``TicketSearch``),
one row per ticket: at about 1.6 KB a ticket, stored inline, the column made
the tickets' heap 2.7 times the size (216 MB at 200,000 tickets, 80 MB
without), and every list that counts or scans tickets read as many pages
more. The document, its weights and ``tickets_search_document(subject,
bodies)``, the one definition, are unchanged.

In order, in the migration's one transaction:

1. the table, empty;
2. PostgreSQL only: 0017's triggers dropped (which locks both tables until
   commit: no ticket or message is written between the copy and the new
   triggers), every ticket's document copied, and the new triggers:
   - a ticket's INSERT creates its row from its subject (AFTER INSERT: the
     row names the ticket; a new ticket has no messages yet);
   - a message's INSERT appends its words to its ticket's row: one UPDATE
     inside PostgreSQL, no round trip more (tests/inbound/test_queries.py);
   - an UPDATE of a ticket's subject recomputes its row from the subject and
     every message;
   both INSERT triggers stand aside while ``tickets.search_document_later``
   is on: a bulk load (bench/generate.py) writes the rows once at its end;
3. the GIN index, built once over the copied rows (PostgreSQL only: SQLite,
   the local demo, has no GIN, and its table stays empty);
4. the column dropped, with its index, and on PostgreSQL the tickets'
   table rewritten (CLUSTER, in the list's order): a dropped column's
   values stay in every row on disk until the row is written again, and
   the heap would keep its 216 MB. It holds the table's lock for the
   rewrite, a few seconds at 200,000 tickets, which the copy above holds
   too.

Backwards, each step undone in reverse: the column comes back, filled from
the table, with 0017's index and triggers.
"""

import django.contrib.postgres.indexes
import django.contrib.postgres.search
import django.db.models.deletion
from django.db import migrations, models

FORWARD = r"""
DROP TRIGGER IF EXISTS tickets_message_search_document ON tickets_message;
DROP TRIGGER IF EXISTS tickets_ticket_search_document_insert ON tickets_ticket;
DROP TRIGGER IF EXISTS tickets_ticket_search_document_update ON tickets_ticket;
DROP FUNCTION IF EXISTS tickets_message_search_document();
DROP FUNCTION IF EXISTS tickets_ticket_search_document();

INSERT INTO tickets_ticketsearch (ticket_id, document)
SELECT t.id, COALESCE(t.search_document, tickets_search_document(
           t.subject,
           (SELECT string_agg(body, ' ' ORDER BY created_at, id)
              FROM tickets_message WHERE ticket_id = t.id)))
  FROM tickets_ticket t;

CREATE FUNCTION tickets_ticket_search_insert() RETURNS trigger AS $$
BEGIN
    INSERT INTO tickets_ticketsearch (ticket_id, document)
    VALUES (NEW.id, tickets_search_document(NEW.subject, NULL));
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE FUNCTION tickets_ticket_search_subject() RETURNS trigger AS $$
BEGIN
    -- An upsert: a ticket loaded while tickets.search_document_later was on
    -- may have no row yet.
    INSERT INTO tickets_ticketsearch (ticket_id, document)
    VALUES (NEW.id, tickets_search_document(
        NEW.subject,
        (SELECT string_agg(body, ' ' ORDER BY created_at, id)
           FROM tickets_message WHERE ticket_id = NEW.id)))
    ON CONFLICT (ticket_id) DO UPDATE SET document = EXCLUDED.document;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE FUNCTION tickets_message_search_append() RETURNS trigger AS $$
BEGIN
    UPDATE tickets_ticketsearch
       SET document = document
           || setweight(to_tsvector('english'::regconfig, COALESCE(NEW.body, '')), 'B')
     WHERE ticket_id = NEW.ticket_id;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER tickets_ticket_search_insert
    AFTER INSERT ON tickets_ticket
    FOR EACH ROW
    WHEN (current_setting('tickets.search_document_later', true) IS DISTINCT FROM 'on')
    EXECUTE FUNCTION tickets_ticket_search_insert();
CREATE TRIGGER tickets_ticket_search_subject
    AFTER UPDATE OF subject ON tickets_ticket
    FOR EACH ROW
    WHEN (NEW.subject IS DISTINCT FROM OLD.subject)
    EXECUTE FUNCTION tickets_ticket_search_subject();
CREATE TRIGGER tickets_message_search_append
    AFTER INSERT ON tickets_message
    FOR EACH ROW
    WHEN (current_setting('tickets.search_document_later', true) IS DISTINCT FROM 'on')
    EXECUTE FUNCTION tickets_message_search_append();

DROP INDEX IF EXISTS tickets_ticket_search_document;
"""

# 0017's triggers and index, over the column filled back from the table.
BACKWARD = r"""
DROP TRIGGER IF EXISTS tickets_message_search_append ON tickets_message;
DROP TRIGGER IF EXISTS tickets_ticket_search_insert ON tickets_ticket;
DROP TRIGGER IF EXISTS tickets_ticket_search_subject ON tickets_ticket;
DROP FUNCTION IF EXISTS tickets_message_search_append();
DROP FUNCTION IF EXISTS tickets_ticket_search_insert();
DROP FUNCTION IF EXISTS tickets_ticket_search_subject();

UPDATE tickets_ticket AS t SET search_document = s.document
  FROM tickets_ticketsearch AS s WHERE s.ticket_id = t.id;
UPDATE tickets_ticket SET search_document = tickets_search_document(
           subject,
           (SELECT string_agg(body, ' ' ORDER BY created_at, id)
              FROM tickets_message WHERE ticket_id = tickets_ticket.id))
 WHERE search_document IS NULL;

CREATE FUNCTION tickets_ticket_search_document() RETURNS trigger AS $$
BEGIN
    NEW.search_document := tickets_search_document(
        NEW.subject,
        (SELECT string_agg(body, ' ' ORDER BY created_at, id)
           FROM tickets_message WHERE ticket_id = NEW.id)
    );
    RETURN NEW;
END
$$ LANGUAGE plpgsql;

CREATE FUNCTION tickets_message_search_document() RETURNS trigger AS $$
BEGIN
    UPDATE tickets_ticket
       SET search_document = COALESCE(search_document, ''::tsvector)
           || setweight(to_tsvector('english'::regconfig, COALESCE(NEW.body, '')), 'B')
     WHERE id = NEW.ticket_id;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE INDEX tickets_ticket_search_document ON tickets_ticket USING gin (search_document);

CREATE TRIGGER tickets_ticket_search_document_insert
    BEFORE INSERT ON tickets_ticket
    FOR EACH ROW EXECUTE FUNCTION tickets_ticket_search_document();
CREATE TRIGGER tickets_ticket_search_document_update
    BEFORE UPDATE ON tickets_ticket
    FOR EACH ROW
    WHEN (NEW.subject IS DISTINCT FROM OLD.subject OR NEW.search_document IS NULL)
    EXECUTE FUNCTION tickets_ticket_search_document();
CREATE TRIGGER tickets_message_search_document
    AFTER INSERT ON tickets_message
    FOR EACH ROW
    WHEN (current_setting('tickets.search_document_later', true) IS DISTINCT FROM 'on')
    EXECUTE FUNCTION tickets_message_search_document();
"""

INDEX = "tickets_ticketsearch_document"


def move_documents(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD)


def move_documents_back(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD)


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX {INDEX} ON tickets_ticketsearch USING gin (document)"
        )
        # The planner's statistics of the new table (its words' frequencies),
        # so the first searches after the upgrade choose their plans by them.
        schema_editor.execute("ANALYZE tickets_ticketsearch")


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


def rewrite_tickets(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        # VACUUM FULL would do, but not inside the migration's transaction.
        schema_editor.execute("CLUSTER tickets_ticket USING tickets_created")
        schema_editor.execute("ANALYZE tickets_ticket")


class Migration(migrations.Migration):
    dependencies = [("tickets", "0017_ticket_search_document")]

    operations = [
        migrations.CreateModel(
            name="TicketSearch",
            fields=[
                (
                    "ticket",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="search",
                        serialize=False,
                        to="tickets.ticket",
                    ),
                ),
                ("document", django.contrib.postgres.search.SearchVectorField()),
            ],
        ),
        migrations.RunPython(move_documents, move_documents_back),
        # Django's GinIndex would be created on SQLite too (see 0009).
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(create_index, drop_index)],
            state_operations=[
                migrations.AddIndex(
                    model_name="ticketsearch",
                    index=django.contrib.postgres.indexes.GinIndex(
                        fields=["document"], name=INDEX
                    ),
                ),
            ],
        ),
        migrations.RemoveField(model_name="ticket", name="search_document"),
        migrations.RunPython(rewrite_tickets, migrations.RunPython.noop),
    ]
