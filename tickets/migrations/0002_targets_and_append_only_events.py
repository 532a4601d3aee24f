"""Default timeliness targets per severity, and a PostgreSQL trigger that
keeps the ticket history append-only whatever path writes to it."""

from datetime import timedelta

from django.db import migrations

DEFAULT_TARGETS = {
    # severity: (acknowledge within, apologize within)
    "critical": (timedelta(minutes=15), timedelta(hours=1)),
    "major": (timedelta(hours=1), timedelta(hours=4)),
    "minor": (timedelta(hours=4), timedelta(hours=24)),
}

APPEND_ONLY_SQL = """
CREATE OR REPLACE FUNCTION tickets_event_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'tickets_ticketevent is append-only: % refused', TG_OP;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER tickets_event_append_only
    BEFORE UPDATE OR DELETE ON tickets_ticketevent
    FOR EACH ROW EXECUTE FUNCTION tickets_event_append_only();
"""
DROP_APPEND_ONLY_SQL = """
DROP TRIGGER IF EXISTS tickets_event_append_only ON tickets_ticketevent;
DROP FUNCTION IF EXISTS tickets_event_append_only();
"""


def create_targets(apps, schema_editor):
    SeverityTarget = apps.get_model("tickets", "SeverityTarget")
    for severity, (acknowledge, apologize) in DEFAULT_TARGETS.items():
        SeverityTarget.objects.using(schema_editor.connection.alias).get_or_create(
            severity=severity,
            defaults={"acknowledge_within": acknowledge, "apologize_within": apologize},
        )


def add_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(APPEND_ONLY_SQL, params=None)


def drop_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_APPEND_ONLY_SQL, params=None)


class Migration(migrations.Migration):
    dependencies = [("tickets", "0001_initial")]

    operations = [
        migrations.RunPython(create_targets, migrations.RunPython.noop),
        migrations.RunPython(add_trigger, drop_trigger),
    ]
