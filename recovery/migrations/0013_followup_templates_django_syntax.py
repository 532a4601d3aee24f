"""Follow-up templates still in Django's syntax rewritten in Jinja2's: 0012
did the loop's names and {% empty %}, and a text using anything else of
Django's (|default:"x", |join:", ", {% comment %}, |yesno...) does not
compile in the sandbox, so its follow-ups would fail for good as they go out.
The conversion is recovery/followup_template_conversion.py.

Rewritten where they are still to be sent: the plans' steps (their
translations too) and the follow-ups not sent yet, including failed ones,
which an admin may send again. Sent and cancelled ones, and the plans'
change records, keep the text as it was. A text Jinja2 already compiles is
left as it is.

A text that still does not compile once rewritten is left as it was, and
printed (model, id, field and why) for the operator to correct by hand:
this must not stop a deploy. One that compiles but that the checker would
refuse when a supervisor next saves it (a placeholder the context no longer
has, which renders as nothing) is saved rewritten, and printed too.

Backwards, the rewritten text stays: Jinja2 is what renders it."""

from django.db import migrations
from django.template.defaultfilters import yesno
from django.utils import translation

from core.errors import RuleViolation
from recovery.followup_template_conversion import django_to_jinja
from recovery.followup_templates import compile_problem, validate_template

# The columns' and the plan editor's limits: a longer text cannot be stored
# (or scheduled), and the rewriting makes a text longer.
LIMITS = {"subject": 200, "body": 20_000}
# Not sent yet: a failed one goes out again when an admin retries it.
UNSENT = ["scheduled", "queued", "failed"]


def convert_templates(apps, schema_editor):
    alias = schema_editor.connection.alias
    Step = apps.get_model("recovery", "FollowUpPlanStep")
    FollowUp = apps.get_model("recovery", "FollowUp")
    report = []
    for step in Step.objects.using(alias).order_by("pk"):
        where = f"FollowUpPlanStep {step.pk}"
        subject = _jinja(
            step.subject_template, "en", "subject", f"{where} subject_template", report
        )
        body = _jinja(step.body_template, "en", "body", f"{where} body_template", report)
        translations = {
            code: _translation(text, code, f"{where} translations[{code!r}]", report)
            for code, text in step.translations.items()
        }
        if (subject, body, translations) != (
            step.subject_template,
            step.body_template,
            step.translations,
        ):
            step.subject_template, step.body_template = subject, body
            step.translations = translations
            step.save(update_fields=["subject_template", "body_template", "translations"])
    unsent = FollowUp.objects.using(alias).filter(status__in=UNSENT).order_by("pk")
    for followup in unsent.iterator():
        where, language = f"FollowUp {followup.pk}", followup.language
        subject = _jinja(
            followup.subject_template, language, "subject", f"{where} subject_template", report
        )
        body = _jinja(followup.body_template, language, "body", f"{where} body_template", report)
        if (subject, body) != (followup.subject_template, followup.body_template):
            followup.subject_template, followup.body_template = subject, body
            followup.save(update_fields=["subject_template", "body_template"])
    if report:
        # After migrate's "Applying ...", on lines of their own.
        print("\n" + "\n".join(f"  recovery 0013: {line}" for line in report))


def _translation(text, language, where, report):
    """One language's {"subject": ..., "body": ...}, each rewritten."""
    if not isinstance(text, dict):
        return text
    return {
        part: _jinja(words, language, part, f"{where}[{part!r}]", report)
        if part in LIMITS and isinstance(words, str)
        else words
        for part, words in text.items()
    }


def _jinja(text, language, part, where, report):
    """``text`` rewritten if Jinja2 cannot compile it and the rewriting can;
    otherwise ``text``, with a line in ``report`` for the operator."""
    if compile_problem(text) is None:
        return text
    converted = django_to_jinja(text, yes_no_maybe=_yes_no_maybe(language))
    problem = compile_problem(converted)
    if problem is None and len(converted) > LIMITS[part]:
        problem = f"rewritten, it is longer than the {LIMITS[part]:,} characters allowed."
    if problem is not None:
        report.append(f"{where} left in Django's syntax, it does not compile: {problem}")
        return text
    try:
        validate_template(converted, field=part)
    except RuleViolation as refused:
        report.append(f"{where} rewritten, but saving it again is refused: {refused.detail}")
    return converted


def _yes_no_maybe(language):
    """What Django's |yesno without an argument said in ``language``: its
    own catalogue's words (Django's filter asked, so ours need not carry them)."""
    with translation.override(language):
        return ",".join(str(yesno(value)) for value in (True, False, None))


class Migration(migrations.Migration):
    dependencies = [("recovery", "0012_followup_templates_jinja")]

    operations = [migrations.RunPython(convert_templates, migrations.RunPython.noop)]
