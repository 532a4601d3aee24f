"""Follow-up templates still in Django's syntax are rewritten in Jinja2's
(migration 0013): they compile in the sandbox and say what Django said,
except where what Django said was a mistake (a date it could not read, a
"<br>" in plain text)."""

from importlib import import_module
from types import SimpleNamespace
from typing import Any

import pytest
from django.apps import apps
from django.db import connection
from django.template import Context, Template
from django.utils import translation

from recovery.followup_template_conversion import django_to_jinja
from recovery.followup_templates import compile_problem, render_template, validate_template
from recovery.models import FollowUp, FollowUpPlan
from tests.helpers import rebuilding_mishap

migration = import_module("recovery.migrations.0013_followup_templates_django_syntax")

CONTEXT: dict[str, Any] = {
    "customer": {"name": "lena McDonald", "email": "lena@example.com"},
    "ticket": {"reference": "HD-000042", "subject": "Parcel lost"},
    "commitment": None,
    "restitutions": [
        {"kind": "refund", "get_kind_display": "Refund", "described": "a refund of 25,00 US$"},
        {"kind": "gift", "get_kind_display": "Gift", "described": "a gift worth 3,00 US$"},
    ],
    "restitutions_listed": "",
    "process_fixes": [{"failsafe_change": "Two people check", "done_on": "December 8, 2026"}],
    "kinds": ["refund", "gift"],
    "gifts": "",  # false: Django's |default and {% firstof %} pass it over
    "name": "Lena",
}


def django_renders(source: str, context: dict[str, Any] = CONTEXT) -> str:
    """What the follow-up said when Django rendered it (plain text, as before 0012)."""
    return Template(source).render(Context(context, autoescape=False))


# Django's syntax, and Jinja2's for it.
CONSTRUCTS = [
    ('{{ gifts|default:"none" }}', '{{ gifts|default("none", true) }}'),
    ("{{ customer.nick|default:name }}", "{{ customer.nick|default(name, true) }}"),
    ('{{ kinds|join:", " }}', '{{ kinds|join(", ") }}'),
    ("{% for r in restitutions %}{{ r.described|capfirst }}. {% endfor %}", None),
    ("{{ customer.name|capfirst|lower }}", None),
    ("gift{{ restitutions|pluralize }}", None),
    ('fix{{ process_fixes|pluralize:"es" }}', 'fix{{ process_fixes|pluralize("es") }}'),
    ('entr{{ kinds|length|pluralize:"y,ies" }}', 'entr{{ kinds|length|pluralize("y,ies") }}'),
    ('{{ commitment|yesno:"a,b,c" }}', '{{ ("c" if commitment is none else "a" if commitment else "b") }}'),  # noqa: E501
    ('{{ commitment.kept|yesno:"on time,late"|upper }}', '{{ ("on time" if commitment.kept else "late")|upper }}'),  # noqa: E501
    ("{{ commitment|yesno }}", '{{ ("maybe" if commitment is none else "yes" if commitment else "no") }}'),  # noqa: E501
    ("{% firstof gifts customer.name %}", '{{ gifts or customer.name or "" }}'),
    ('{% firstof gifts "sorry" as gift %}[{{ gift }}]', '{% set gift = gifts or "sorry" %}[{{ gift }}]'),  # noqa: E501
    ("A{% comment %}\nnote {{ x }} #}\n{% endcomment %}B", "A{# \nnote {{ x }} # }\n #}B"),
    ('A{% comment "why" %}not sent{% endcomment %}B', 'A{# "why" not sent #}B'),
    ('{% if kinds|length > 1 and x|default:"" %}many{% endif %}', '{% if kinds|length > 1 and x|default("", true) %}many{% endif %}'),  # noqa: E501
    ('{{ "say \\"hi\\"\\n"|default:"x" }}', '{{ "say \\"hi\\"\\\\n"|default("x", true) }}'),
]  # fmt: skip


@pytest.mark.parametrize(("django", "jinja"), CONSTRUCTS)
def test_each_construct_reads_in_jinja2_as_django_rendered_it(
    django: str, jinja: str | None
) -> None:
    """``None``: the sandbox has the filter, with Django's meaning."""
    jinja = jinja or django

    assert django_to_jinja(django) == jinja
    assert compile_problem(jinja) is None
    assert render_template(jinja, CONTEXT) == django_renders(django).strip()


def test_capfirst_keeps_the_rest_as_it_is_which_capitalize_would_not() -> None:
    assert render_template("{{ r|capfirst }}", {"r": "a refund of 25,00 US$"}) == (
        "A refund of 25,00 US$"
    )


@pytest.mark.parametrize("words", ["oui,non,peut-être", "ja,nein"])
def test_yesno_without_words_says_those_of_the_texts_language(words: str) -> None:
    jinja = django_to_jinja("{{ commitment.kept|yesno }}", yes_no_maybe=words)

    assert render_template(jinja, CONTEXT) == words.split(",")[1]


@pytest.mark.parametrize(
    ("django", "jinja", "django_said"),
    [
        # The days a follow-up reads are text already, as the customer reads
        # them: Django's |date could not read them and wrote nothing.
        ('Done on {{ fix.done_on|date:"j F Y" }}.', "Done on {{ fix.done_on }}.", "Done on ."),
        # Plain text: the email turns line breaks into HTML ones itself.
        ("{{ text|linebreaksbr }}", "{{ text }}", "one<br>two"),
    ],
)
def test_filters_django_got_wrong_in_a_letter_are_dropped(
    django: str, jinja: str, django_said: str
) -> None:
    context = {"fix": {"done_on": "December 8, 2026"}, "text": "one\ntwo"}

    assert django_to_jinja(django) == jinja
    assert django_renders(django, context) == django_said
    assert render_template(jinja, context) in ("Done on December 8, 2026.", "one\ntwo")


@pytest.mark.parametrize(
    "source",
    [
        # Already Jinja2's.
        '{{ restitutions|join(", ") }} {{ x|default("y", true) }} {% set a = b|lower %}',
        "{% for r in restitutions if r.kind %}{{ loop.index }}{% else %}none{% endfor %}",
        # Not in a tag: the customer reads it as it is.
        'Reply with |default:"x" or {% if %} as text',
        # No equivalent: left for the migration to report.
        '{% now "Y" %}',
        "{{ commitment.kept|yesno:words }}",
        "{{ x|default }}",
    ],
)
def test_what_is_not_djangos_syntax_or_has_no_equivalent_is_left_as_it_is(source: str) -> None:
    assert django_to_jinja(source) == source


# --- The migration -------------------------------------------------------------------------

STEP_SUBJECT = '{{ customer.name|capfirst }}, {{ ticket.subject|default:"your order" }}'
STEP_BODY = (
    "{% comment %}Written for Django.{% endcomment %}"
    "We gave you {{ restitutions|length }} gift{{ restitutions|pluralize }}:"
    "{% for r in restitutions %}\n- {{ r.described|capfirst }}{% endfor %}"
    '\n{% firstof restitutions_listed "Nothing else." %}'
)
UNCONVERTIBLE = 'As of {% now "Y" %}, all is well.'


def run_migration() -> None:
    migration.convert_templates(apps, SimpleNamespace(connection=connection))


@pytest.mark.django_db
def test_the_migration_rewrites_steps_so_they_compile_and_say_what_they_said(
    capsys: pytest.CaptureFixture[str],
) -> None:
    plan = FollowUpPlan.objects.create(severity="minor")
    step = plan.steps.create(
        offset_days=2,
        subject_template=STEP_SUBJECT,
        body_template=STEP_BODY,
        translations={"de": {"subject": "Hallo", "body": "{{ commitment|yesno }}"}},
    )
    unchanged = plan.steps.create(offset_days=5, subject_template="Hi", body_template=UNCONVERTIBLE)

    run_migration()

    step.refresh_from_db()
    for before, after in ((STEP_SUBJECT, step.subject_template), (STEP_BODY, step.body_template)):
        assert validate_template(after, field="body_template") == after
        assert render_template(after, CONTEXT) == django_renders(before).strip()
    with translation.override("de"):
        assert render_template(step.translations["de"]["body"], CONTEXT) == django_renders(
            "{{ commitment|yesno }}"
        )
    assert step.translations["de"]["subject"] == "Hallo"
    unchanged.refresh_from_db()
    assert unchanged.body_template == UNCONVERTIBLE
    report = capsys.readouterr().out
    assert f"FollowUpPlanStep {unchanged.pk} body_template left in Django's syntax" in report
    assert "The now tag is not allowed in a follow-up (line 1)" in report
    assert f"FollowUpPlanStep {step.pk} " not in report


@pytest.mark.django_db
def test_the_migration_rewrites_the_followups_still_to_send_and_reports_the_rest(
    capsys: pytest.CaptureFixture[str],
) -> None:
    ticket = rebuilding_mishap()
    first, second, third = ticket.followups.order_by("pk")
    ticket.followups.update(body_template=STEP_BODY)
    FollowUp.objects.filter(pk=second.pk).update(status=FollowUp.Status.SENT, sent_at=first.due_at)
    # Saved before placeholders were checked: it compiles once rewritten,
    # renders the unknown name as nothing, and the checker would refuse it.
    old_rules = "{{ ticket.our_part|default:'Sorry.' }}"
    FollowUp.objects.filter(pk=third.pk).update(
        status=FollowUp.Status.FAILED, body_template=old_rules
    )

    run_migration()

    first.refresh_from_db()
    second.refresh_from_db()
    third.refresh_from_db()
    assert compile_problem(first.body_template) is None
    assert render_template(first.body_template, CONTEXT) == django_renders(STEP_BODY).strip()
    assert second.body_template == STEP_BODY  # sent: the record of what it was
    assert third.body_template == '{{ ticket.our_part|default("Sorry.", true) }}'
    assert render_template(third.body_template, CONTEXT) == "Sorry."
    report = capsys.readouterr().out
    assert f"FollowUp {third.pk} body_template rewritten, but saving it again is refused" in report
    assert "A follow-up has no {{ ticket.our_part }}" in report


@pytest.mark.django_db
def test_a_rewritten_subject_longer_than_its_column_is_left_and_reported(
    capsys: pytest.CaptureFixture[str],
) -> None:
    subject = "{{ x|default:'' }}" * 11  # 198 characters; 275 rewritten
    step = FollowUpPlan.objects.create(severity="major").steps.create(
        offset_days=1, subject_template=subject, body_template="Hi"
    )

    run_migration()

    step.refresh_from_db()
    assert step.subject_template == subject
    assert "longer than the 200 characters allowed" in capsys.readouterr().out
