"""The plans 0004 seeded and nobody changed give way to the code's default
plan (recovery.followup_defaults), which is translated into the customer's
language and written in the agent's voice. The seeded text opened with
"Dear ...", pasted the ticket's subject into its sentences and told our
internal account of the mishap: the things issue 14 took out.

A plan a supervisor saved (it has a change record, or other steps) is
theirs and stays as it is."""

from importlib import import_module

from django.db import migrations

seeded = import_module("recovery.migrations.0004_default_followup_plans")


def remove_untouched_seeded_plans(apps, schema_editor):
    Plan = apps.get_model("recovery", "FollowUpPlan")
    alias = schema_editor.connection.alias
    versions = [
        [(day, subject.strip(), body.strip()) for day, subject, body in steps]
        for steps in (seeded.default_steps(), seeded.default_steps(done_on=False))
    ]
    untouched = Plan.objects.using(alias).filter(updated_by__isnull=True, changes__isnull=True)
    for plan in untouched.prefetch_related("steps"):
        steps = [
            (s.offset_days, s.subject_template.strip(), s.body_template.strip())
            for s in sorted(plan.steps.all(), key=lambda s: (s.offset_days, s.id))
        ]
        if steps in versions:
            plan.steps.all().delete()
            plan.delete()


class Migration(migrations.Migration):
    dependencies = [("recovery", "0007_followup_languages")]

    # Backwards, the code's default applies all the same (no row, no plan).
    operations = [
        migrations.RunPython(remove_untouched_seeded_plans, migrations.RunPython.noop),
    ]
