"""One full-text document per ticket (``Ticket.search_document``): its subject
weighted A, every message (notes included) weighted B, with its GIN index.
PostgreSQL only: on SQLite, the local demo, the column stays empty and the
search matches substrings instead.

The database keeps the document, not the services, through triggers:

- a message's INSERT appends its words to its ticket's document: one UPDATE
  inside PostgreSQL, so adding a message costs the desk no round trip more
  (the inbound mail's queries are pinned in tests/inbound/test_queries.py);
- a ticket's INSERT, or an UPDATE that changes its subject (or writes the
  document back empty), recomputes it from the subject and every message.

The document is derived data, like an index: every path that writes a
message (the services, the admin, a data fix in psql) keeps it right, and
no service can forget it. ``tickets_search_document(subject, bodies)`` is
the one definition, used by the triggers, the backfill below and the load
generator (bench/generate.py).

Replaces the two expression indexes of 0009 (subjects, messages' bodies),
which only the old search used.
"""

import django.contrib.postgres.search
from django.db import migrations

CREATE = r"""
CREATE OR REPLACE FUNCTION tickets_search_document(subject text, bodies text)
RETURNS tsvector LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT setweight(to_tsvector('english'::regconfig, COALESCE(subject, '')), 'A')
        || setweight(to_tsvector('english'::regconfig, COALESCE(bodies, '')), 'B')
$$;

CREATE OR REPLACE FUNCTION tickets_ticket_search_document() RETURNS trigger AS $$
BEGIN
    NEW.search_document := tickets_search_document(
        NEW.subject,
        (SELECT string_agg(body, ' ' ORDER BY created_at, id)
           FROM tickets_message WHERE ticket_id = NEW.id)
    );
    RETURN NEW;
END
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION tickets_message_search_document() RETURNS trigger AS $$
BEGIN
    UPDATE tickets_ticket
       SET search_document = COALESCE(search_document, ''::tsvector)
           || setweight(to_tsvector('english'::regconfig, COALESCE(NEW.body, '')), 'B')
     WHERE id = NEW.ticket_id;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

UPDATE tickets_ticket AS t
   SET search_document = tickets_search_document(t.subject, m.bodies)
  FROM (SELECT ticket_id, string_agg(body, ' ' ORDER BY created_at, id) AS bodies
          FROM tickets_message GROUP BY ticket_id) AS m
 WHERE m.ticket_id = t.id;
UPDATE tickets_ticket SET search_document = tickets_search_document(subject, NULL)
 WHERE search_document IS NULL;

CREATE INDEX tickets_ticket_search_document ON tickets_ticket USING gin (search_document);

CREATE TRIGGER tickets_ticket_search_document_insert
    BEFORE INSERT ON tickets_ticket
    FOR EACH ROW EXECUTE FUNCTION tickets_ticket_search_document();
-- An UPDATE that writes an empty document back (a Ticket object made
-- before its messages, saved whole) recomputes it too.
CREATE TRIGGER tickets_ticket_search_document_update
    BEFORE UPDATE ON tickets_ticket
    FOR EACH ROW
    WHEN (NEW.subject IS DISTINCT FROM OLD.subject OR NEW.search_document IS NULL)
    EXECUTE FUNCTION tickets_ticket_search_document();
-- A bulk load (bench/generate.py) sets tickets.search_document_later and
-- writes the documents once at the end; ALTER TABLE ... DISABLE TRIGGER
-- would be refused while the load's foreign-key checks are pending.
CREATE TRIGGER tickets_message_search_document
    AFTER INSERT ON tickets_message
    FOR EACH ROW
    WHEN (current_setting('tickets.search_document_later', true) IS DISTINCT FROM 'on')
    EXECUTE FUNCTION tickets_message_search_document();

DROP INDEX IF EXISTS tickets_message_body_fts;
DROP INDEX IF EXISTS tickets_ticket_subject_fts;

-- The planner's statistics of the new column (its words' frequencies), so
-- the first searches after the upgrade choose their plans by them.
ANALYZE tickets_ticket;
"""

DROP = r"""
DROP TRIGGER IF EXISTS tickets_message_search_document ON tickets_message;
DROP TRIGGER IF EXISTS tickets_ticket_search_document_insert ON tickets_ticket;
DROP TRIGGER IF EXISTS tickets_ticket_search_document_update ON tickets_ticket;
DROP FUNCTION IF EXISTS tickets_message_search_document();
DROP FUNCTION IF EXISTS tickets_ticket_search_document();
DROP FUNCTION IF EXISTS tickets_search_document(text, text);
DROP INDEX IF EXISTS tickets_ticket_search_document;
CREATE INDEX IF NOT EXISTS tickets_message_body_fts ON tickets_message
    USING gin (to_tsvector('english'::regconfig, COALESCE(body, ''::text)));
CREATE INDEX IF NOT EXISTS tickets_ticket_subject_fts ON tickets_ticket
    USING gin (to_tsvector('english'::regconfig, COALESCE(subject, ''::text)));
"""


def create_document(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop_document(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("tickets", "0016_trust_at_risk_alert")]

    operations = [
        migrations.AddField(
            model_name="ticket",
            name="search_document",
            field=django.contrib.postgres.search.SearchVectorField(editable=False, null=True),
        ),
        migrations.RunPython(create_document, drop_document),
    ]
