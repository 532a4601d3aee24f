"""Commitments accepted before due times were limited (issue 13) may stand at
the very end of year 9999, where no zone east of UTC can show them: the
ticket's page then failed for every such reader. They are moved to the last
instant every zone can show (9999-12-30 00:00 UTC), which still reads as
"never" and changes no promise that was real."""

from datetime import UTC, datetime

from django.db import migrations

LAST_SHOWABLE = datetime(9999, 12, 30, tzinfo=UTC)


def clamp(apps, schema_editor):
    Commitment = apps.get_model("tickets", "Commitment")
    Commitment.objects.filter(due_at__gt=LAST_SHOWABLE).update(due_at=LAST_SHOWABLE)


class Migration(migrations.Migration):
    dependencies = [("tickets", "0010_queue_indexes_in_list_order")]

    operations = [migrations.RunPython(clamp, migrations.RunPython.noop)]
