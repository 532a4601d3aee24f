"""followup_plan_set: supervisors replace a plan's steps; the rules hold,
the change is recorded, and only later schedules see it."""

from importlib import import_module
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from django.apps import apps
from django.db import connection
from django.utils import translation
from django.utils.translation import trans_real

from accounts.models import User
from core.errors import NotPermitted, RuleViolation
from recovery.followup_defaults import DEFAULT_STEPS
from recovery.models import FollowUp, FollowUpPlan, FollowUpPlanChange
from recovery.services import PlanStep, followup_plan_set
from tests.factories import TicketFactory, advance
from tests.helpers import assignee_of, plan_steps
from tickets.models import Kind, Severity, Status
from tickets.services import ticket_resolve

pytestmark = pytest.mark.django_db

TWO_STEPS = [
    PlanStep(14, "Two weeks on, {{ customer.name }}", "Hello {{ customer.name }}."),
    PlanStep(2, "Two days on", "How is {{ ticket.subject }}?"),
]


def test_a_supervisor_replaces_the_steps_and_the_change_is_recorded(supervisor: User) -> None:
    followup_plan_set(severity=Severity.MAJOR, actor=supervisor, steps=[PlanStep(3, "S", "B")])
    before = plan_steps(Severity.MAJOR)

    plan = followup_plan_set(severity=Severity.MAJOR, actor=supervisor, steps=TWO_STEPS)

    assert plan_steps(Severity.MAJOR) == [
        (2, "Two days on", "How is {{ ticket.subject }}?"),
        (14, "Two weeks on, {{ customer.name }}", "Hello {{ customer.name }}."),
    ]
    plan.refresh_from_db()
    assert plan.updated_by == supervisor
    first, change = FollowUpPlanChange.objects.filter(plan=plan).order_by("id")
    assert first.old == []  # no plan saved: the code's default applied
    assert change.changed_by == supervisor
    # Each step as [day, subject, body, translations].
    assert change.old == [[*step, {}] for step in before]
    assert change.new == [[*step, {}] for step in plan_steps(Severity.MAJOR)]
    # The other severities keep theirs.
    assert [s[0] for s in plan_steps(Severity.MINOR)] == [s[0] for s in DEFAULT_STEPS]


def test_saving_the_same_steps_again_records_nothing(supervisor: User) -> None:
    followup_plan_set(severity=Severity.MINOR, actor=supervisor, steps=TWO_STEPS)

    followup_plan_set(severity=Severity.MINOR, actor=supervisor, steps=list(reversed(TWO_STEPS)))

    assert FollowUpPlanChange.objects.count() == 1


def test_an_agent_cannot_change_a_plan(agent: User) -> None:
    before = plan_steps(Severity.MINOR)

    with pytest.raises(NotPermitted):
        followup_plan_set(severity=Severity.MINOR, actor=agent, steps=TWO_STEPS)

    assert plan_steps(Severity.MINOR) == before
    assert not FollowUpPlanChange.objects.exists()


@pytest.mark.parametrize(
    ("steps", "field", "words"),
    [
        ([], "steps", "at least one step"),
        ([PlanStep(0, "S", "B")], "offset_days", "from 1 to 365"),
        ([PlanStep(366, "S", "B")], "offset_days", "from 1 to 365"),
        ([PlanStep(3, "S", "B"), PlanStep(3, "T", "C")], "offset_days", "already a step on day 3"),
        ([PlanStep(3, " ", "B")], "subject_template", "needs a subject and a body"),
        ([PlanStep(3, "S", "Hi {% if customer %}")], "body_template", "template has an error"),
        ([PlanStep(3, "Hi {{ customer.name|nope }}", "B")], "subject_template", "template"),
        ([PlanStep(3, "S", "{% debug %}")], "body_template", "debug tag is not allowed"),
        ([PlanStep(3, "S", "{% load static %}")], "body_template", "load tag is not allowed"),
        ([PlanStep(3, "S", '{% include "base.html" %}')], "body_template", "include tag"),
    ],
)
def test_a_bad_plan_is_refused_and_nothing_changes(
    supervisor: User, steps: list[PlanStep], field: str, words: str
) -> None:
    before = plan_steps(Severity.CRITICAL)

    with pytest.raises(RuleViolation) as refused:
        followup_plan_set(severity=Severity.CRITICAL, actor=supervisor, steps=steps)

    assert words in refused.value.detail
    assert field in refused.value.extra["errors"]
    assert plan_steps(Severity.CRITICAL) == before
    assert not FollowUpPlanChange.objects.exists()


def test_an_unknown_severity_is_refused(supervisor: User) -> None:
    with pytest.raises(RuleViolation, match="severity"):
        followup_plan_set(severity="apocalyptic", actor=supervisor, steps=TWO_STEPS)


def test_a_plan_missing_from_the_database_is_created(supervisor: User) -> None:
    FollowUpPlan.objects.filter(severity=Severity.MINOR).delete()
    assert [s[0] for s in plan_steps(Severity.MINOR)] == [1, 7, 30]  # the default meanwhile

    followup_plan_set(severity=Severity.MINOR, actor=supervisor, steps=TWO_STEPS)

    assert [s[0] for s in plan_steps(Severity.MINOR)] == [2, 14]


def test_a_plan_change_affects_only_mishaps_resolved_after_it(supervisor: User) -> None:
    earlier = advance(TicketFactory(kind=Kind.MISHAP), to=Status.REBUILDING)
    scheduled = list(
        FollowUp.objects.filter(ticket=earlier).values_list(
            "offset_days", "subject_template", "body_template"
        )
    )
    later = advance(TicketFactory(kind=Kind.MISHAP), to=Status.COMMITTED)

    followup_plan_set(severity=Severity.MINOR, actor=supervisor, steps=TWO_STEPS)
    ticket_resolve(ticket=later, actor=assignee_of(later), message="Done, as promised.")

    assert scheduled == [tuple(step) for step in DEFAULT_STEPS]
    assert (
        list(
            FollowUp.objects.filter(ticket=earlier).values_list(
                "offset_days", "subject_template", "body_template"
            )
        )
        == scheduled
    )
    assert list(
        FollowUp.objects.filter(ticket=later).values_list("offset_days", "subject_template")
    ) == [(2, "Two days on"), (14, "Two weeks on, {{ customer.name }}")]


def test_a_plan_template_reaches_only_plain_values(supervisor: User) -> None:
    """A template cannot read past what the email needs: no password hash, no
    staff email, whatever a supervisor writes. Such a template is refused when
    saved; one stored before templates were checked reads nothing there."""
    from recovery.followup_templates import render_template
    from recovery.services.followup_emails import email_contexts

    reaching = "[{{ ticket.assignee.password }}][{{ ticket.customer.email }}]{{ customer.name }}"
    with pytest.raises(RuleViolation, match=r"no \{\{ ticket.assignee \}\}"):
        followup_plan_set(
            severity=Severity.MAJOR, actor=supervisor, steps=[PlanStep(1, "About", reaching)]
        )
    ticket = advance(TicketFactory(kind=Kind.MISHAP, severity=Severity.MAJOR), to=Status.REBUILDING)
    followup = FollowUp.objects.filter(ticket=ticket).first()
    assert followup is not None
    followup.body_template = reaching

    body = render_template(followup.body_template, email_contexts([followup])[followup.pk])

    assert body == f"[][]{ticket.customer.name}"


# --- Other languages -------------------------------------------------------------------

PT = {"pt-br": {"subject": "Dois dias depois", "body": "Como vai?"}}


def test_a_step_keeps_its_text_in_other_languages_and_the_change_records_it(
    supervisor: User,
) -> None:
    plan = followup_plan_set(
        severity=Severity.MAJOR,
        actor=supervisor,
        steps=[PlanStep(2, "Two days on", "How is it going?", PT)],
    )

    assert plan.steps.get().translations == PT
    assert FollowUpPlanChange.objects.get().new == [[2, "Two days on", "How is it going?", PT]]

    # Only the translation changes: that is a change too, recorded before and after.
    german = {**PT, "de": {"subject": "Zwei Tage später", "body": "Wie geht es?"}}
    followup_plan_set(
        severity=Severity.MAJOR,
        actor=supervisor,
        steps=[PlanStep(2, "Two days on", "How is it going?", german)],
    )
    latest = FollowUpPlanChange.objects.order_by("-id").first()
    assert latest is not None
    assert (latest.old[0][3], latest.new[0][3]) == (PT, german)


def test_an_empty_translation_is_no_translation(supervisor: User) -> None:
    plan = followup_plan_set(
        severity=Severity.MAJOR,
        actor=supervisor,
        steps=[PlanStep(2, "S", "B", {"fr": {"subject": " ", "body": ""}})],
    )

    assert plan.steps.get().translations == {}


@pytest.mark.parametrize(
    ("translations", "field", "words"),
    [
        ({"ja": {"subject": "S", "body": "B"}}, "translations", "we do not send in ja"),
        ({"en": {"subject": "S", "body": "B"}}, "translations", "we do not send in en"),
        ({"de": {"subject": "S"}}, "body_template_de", "Step 1 (Deutsch): a translation needs"),
        ({"de": {"body": "B"}}, "subject_template_de", "needs both a subject and a body"),
        ({"de": {"subject": "S", "body": "{% if x %}"}}, "body_template_de", "template has"),
        ({"fr": {"subject": "S", "body": "{% load static %}"}}, "body_template_fr", "load tag"),
        ({"es": {"subject": "S" * 201, "body": "B"}}, "subject_template_es", "at most 200"),
        ({"es": {"subject": "S", "body": "B" * 20_001}}, "body_template_es", "at most 20000"),
        ({"es": {"subject": "S", "body": "B", "note": "x"}}, "translations", "subject and a"),
        ({"es": "Hola"}, "translations", "a subject and a body"),
        (["es"], "translations", "a mapping of languages"),
    ],
)
def test_a_bad_translation_is_refused_and_nothing_changes(
    supervisor: User, translations: Any, field: str, words: str
) -> None:
    before = plan_steps(Severity.CRITICAL)

    with pytest.raises(RuleViolation) as refused:
        followup_plan_set(
            severity=Severity.CRITICAL,
            actor=supervisor,
            steps=[PlanStep(1, "S", "B", translations)],
        )

    assert words in refused.value.detail
    assert field in refused.value.extra["errors"]
    assert plan_steps(Severity.CRITICAL) == before
    assert not FollowUpPlanChange.objects.exists()


def test_the_default_plan_is_translated_when_it_is_scheduled() -> None:
    """No plan saved: the code's steps, resolved in the customer's language."""
    FollowUpPlan.objects.filter(severity=Severity.MINOR).delete()
    ticket = TicketFactory(kind=Kind.MISHAP)
    type(ticket.customer).objects.filter(pk=ticket.customer_id).update(locale="de-AT")

    followups = list(advance(ticket, to=Status.REBUILDING).followups.order_by("due_at"))

    assert [f.language for f in followups] == ["de", "de", "de"]
    with translation.override("de"):
        assert [(f.subject_template, f.body_template) for f in followups] == [
            (str(subject), str(body)) for _, subject, body in DEFAULT_STEPS
        ]


def test_a_default_step_the_catalogue_lacks_is_scheduled_in_english_marked_english(
    settings: Any, tmp_path: Path
) -> None:
    """A host whose catalogues were not compiled must not send English marked German."""
    FollowUpPlan.objects.filter(severity=Severity.MINOR).delete()
    settings.LOCALE_PATHS = [tmp_path]  # no catalogue of ours at all
    trans_real._translations = {}  # type: ignore[attr-defined]  # the catalogue cache
    ticket = TicketFactory(kind=Kind.MISHAP)
    type(ticket.customer).objects.filter(pk=ticket.customer_id).update(locale="de")
    try:
        followups = list(advance(ticket, to=Status.REBUILDING).followups.order_by("due_at"))
    finally:
        trans_real._translations = {}  # type: ignore[attr-defined]  # the catalogue cache

    assert [f.language for f in followups] == ["en", "en", "en"]
    with translation.override("en"):
        assert [f.subject_template for f in followups] == [
            str(subject) for _, subject, _ in DEFAULT_STEPS
        ]


# --- The seeded plans give way to the code's default (migration 0008) --------------------


def test_the_seeded_plans_nobody_changed_give_way_to_the_default(supervisor: User) -> None:
    seeded = import_module("recovery.migrations.0004_default_followup_plans")
    migration = import_module("recovery.migrations.0008_default_plans_from_code")
    # The migrations ran on this database: 0004 seeded three plans, 0008 took them back.
    assert not FollowUpPlan.objects.exists()

    def seed(severity: str, steps: Any) -> FollowUpPlan:
        plan = FollowUpPlan.objects.create(severity=severity)
        for day, subject, body in steps:
            plan.steps.create(offset_days=day, subject_template=subject, body_template=body)
        return plan

    seed("minor", seeded.default_steps())
    seed("major", seeded.default_steps(done_on=False))
    changed = seed("critical", seeded.default_steps())
    FollowUpPlanChange.objects.create(plan=changed, changed_by=supervisor, old=[], new=[])

    migration.remove_untouched_seeded_plans(apps, SimpleNamespace(connection=connection))

    assert list(FollowUpPlan.objects.values_list("severity", flat=True)) == ["critical"]
    assert len(plan_steps("critical")) == 3


def test_a_plan_with_other_steps_is_not_taken_back(supervisor: User) -> None:
    migration = import_module("recovery.migrations.0008_default_plans_from_code")
    plan = FollowUpPlan.objects.create(severity="minor")
    plan.steps.create(offset_days=3, subject_template="Hi", body_template="Hello")

    migration.remove_untouched_seeded_plans(apps, SimpleNamespace(connection=connection))

    assert plan_steps("minor") == [(3, "Hi", "Hello")]
