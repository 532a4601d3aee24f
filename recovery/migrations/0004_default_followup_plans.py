"""The default follow-up plan for every severity: day 1, day 7 and day 30."""

from django.db import migrations

from recovery.followup_defaults import DEFAULT_STEPS


def create_plans(apps, schema_editor):
    Plan = apps.get_model("recovery", "FollowUpPlan")
    Step = apps.get_model("recovery", "FollowUpPlanStep")
    alias = schema_editor.connection.alias
    for severity in ("minor", "major", "critical"):
        plan, created = Plan.objects.using(alias).get_or_create(severity=severity)
        if not created:
            continue
        for offset, subject, body in DEFAULT_STEPS:
            Step.objects.using(alias).create(
                plan=plan, offset_days=offset, subject_template=subject, body_template=body
            )


class Migration(migrations.Migration):
    dependencies = [("recovery", "0003_followups")]

    operations = [migrations.RunPython(create_plans, migrations.RunPython.noop)]
