"""The default follow-up plan for every severity: day 1, day 7 and day 30.

The texts are this migration's own, as they were when it was written: a
migration must do the same thing whenever it runs, whatever the code's
default plan says by then (recovery.followup_defaults, now translated and
used without a row; 0008 removes these rows where nobody changed them)."""

from django.db import migrations

INTRO = "Dear {{ customer.name }},\n\n"
WHAT_HAPPENED = (
    "{% if ticket.our_part %}You told us about a problem ({{ ticket.subject }}), and it was "
    "our doing: {{ ticket.our_part }}\n\n{% endif %}"
    "{% if commitment %}We promised: {{ commitment.promise }}\n"
    "{% if commitment.kept %}We kept that promise on time.{% else %}We kept it, later than we "
    "said, and we are sorry you had to wait.{% endif %}\n\n{% endif %}"
    "{% if restitutions %}To make it right we gave you {% for r in restitutions %}"
    "a {{ r.get_kind_display|lower }} of {{ r.amount }} {{ r.currency }}"
    "{% if not forloop.last %} and {% endif %}{% endfor %}.\n\n{% endif %}"
)


def fixes(done_on):
    return (
        "{% if process_fixes %}We have also changed how we work, so that it does not happen "
        "again:{% for fix in process_fixes %}\n- {{ fix.failsafe_change }}"
        + (" (done on {{ fix.done_on }})" if done_on else "")
        + "{% endfor %}\n\n{% endif %}"
    )


def default_steps(done_on=True):
    """The steps seeded; ``done_on=False`` gives those of the first release,
    before follow-ups gave a fix's day."""
    return (
        (
            1,
            "How are things since we put it right?",
            INTRO
            + WHAT_HAPPENED
            + "Is everything working as it should now? If anything is still not right, reply to "
            "this email and it comes straight to the person who helped you.",
        ),
        (
            7,
            "One week on: how are we doing?",
            INTRO
            + "A week ago we put right what went wrong with {{ ticket.subject }}. We wanted to "
            "check in, because one good answer does not undo a bad experience.\n\n"
            + fixes(done_on)
            + "How has it been since? A single click below tells us, and every answer is read.",
        ),
        (
            30,
            "A month later: thank you for staying with us",
            INTRO
            + "It has been a month since we let you down with {{ ticket.subject }}. Thank you for "
            "giving us the chance to make it right.\n\n"
            + fixes(done_on)
            + "If you have a moment, tell us how much you trust us now. And if there is anything "
            "we can still do, reply to this email.",
        ),
    )


def create_plans(apps, schema_editor):
    Plan = apps.get_model("recovery", "FollowUpPlan")
    Step = apps.get_model("recovery", "FollowUpPlanStep")
    alias = schema_editor.connection.alias
    for severity in ("minor", "major", "critical"):
        plan, created = Plan.objects.using(alias).get_or_create(severity=severity)
        if not created:
            continue
        for offset, subject, body in default_steps():
            Step.objects.using(alias).create(
                plan=plan, offset_days=offset, subject_template=subject, body_template=body
            )


class Migration(migrations.Migration):
    dependencies = [("recovery", "0003_followups")]

    operations = [migrations.RunPython(create_plans, migrations.RunPython.noop)]
