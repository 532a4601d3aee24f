"""Follow-up templates are Jinja2 templates from now on (rendered in its
sandbox, recovery/followup_templates.py). What plans and follow-ups used of
Django's syntax reads the same in Jinja2 ({{ customer.name }}, {% if %},
{% elif %}, {% for %}, |lower), except the loop's variables and the empty
branch of a loop, which this rewrites in the plans' steps (their
translations too) and in the follow-ups already scheduled: the seeded plan
said {% if not forloop.last %} between gifts.

The plans' change records keep the text as it was written. Backwards, the
rewritten text is left as it is: Jinja2's loop names mean nothing to Django,
so going back means editing those steps by hand."""

import re

from django.db import migrations

LOOP_NAMES = {
    "counter0": "index0",
    "counter": "index",
    "revcounter0": "revindex0",
    "revcounter": "revindex",
    "first": "first",
    "last": "last",
}
FORLOOP = re.compile(r"\bforloop\.(counter0|counter|revcounter0|revcounter|first|last)\b")
EMPTY = re.compile(r"{%(-?)\s*empty\s*(-?)%}")


def jinja_text(text):
    text = FORLOOP.sub(lambda match: f"loop.{LOOP_NAMES[match.group(1)]}", text)
    return EMPTY.sub(r"{%\1 else \2%}", text)


def rewrite_templates(apps, schema_editor):
    alias = schema_editor.connection.alias
    Step = apps.get_model("recovery", "FollowUpPlanStep")
    FollowUp = apps.get_model("recovery", "FollowUp")
    for step in Step.objects.using(alias).all():
        translations = {
            code: {part: jinja_text(words) for part, words in text.items()}
            for code, text in step.translations.items()
        }
        subject, body = jinja_text(step.subject_template), jinja_text(step.body_template)
        if (subject, body, translations) != (
            step.subject_template,
            step.body_template,
            step.translations,
        ):
            step.subject_template, step.body_template = subject, body
            step.translations = translations
            step.save(update_fields=["subject_template", "body_template", "translations"])
    django_only = FollowUp.objects.using(alias).filter(
        body_template__regex=r"forloop\.|{%-?\s*empty"
    ) | FollowUp.objects.using(alias).filter(subject_template__regex=r"forloop\.|{%-?\s*empty")
    for followup in django_only.iterator():
        followup.subject_template = jinja_text(followup.subject_template)
        followup.body_template = jinja_text(followup.body_template)
        followup.save(update_fields=["subject_template", "body_template"])


class Migration(migrations.Migration):
    dependencies = [("recovery", "0011_timestamps_from_clock")]

    operations = [migrations.RunPython(rewrite_templates, migrations.RunPython.noop)]
