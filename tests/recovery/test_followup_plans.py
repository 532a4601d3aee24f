"""followup_plan_set: supervisors replace a plan's steps; the rules hold,
the change is recorded, and only later schedules see it."""

import pytest

from accounts.models import User
from core.errors import NotPermitted, RuleViolation
from recovery.followup_defaults import DEFAULT_STEPS
from recovery.models import FollowUp, FollowUpPlan, FollowUpPlanChange
from recovery.services import PlanStep, followup_plan_set
from recovery.services.followups import plan_steps
from tests.factories import TicketFactory, advance
from tickets.models import Kind, Severity, Status
from tickets.services import ticket_resolve

pytestmark = pytest.mark.django_db

TWO_STEPS = [
    PlanStep(14, "Two weeks on, {{ customer.name }}", "Hello {{ customer.name }}."),
    PlanStep(2, "Two days on", "How is {{ ticket.subject }}?"),
]


def test_a_supervisor_replaces_the_steps_and_the_change_is_recorded(supervisor: User) -> None:
    before = plan_steps(Severity.MAJOR)

    plan = followup_plan_set(severity=Severity.MAJOR, actor=supervisor, steps=TWO_STEPS)

    assert plan_steps(Severity.MAJOR) == [
        (2, "Two days on", "How is {{ ticket.subject }}?"),
        (14, "Two weeks on, {{ customer.name }}", "Hello {{ customer.name }}."),
    ]
    plan.refresh_from_db()
    assert plan.updated_by == supervisor
    change = FollowUpPlanChange.objects.get(plan=plan)
    assert change.changed_by == supervisor
    assert change.old == [list(step) for step in before]
    assert change.new == [list(step) for step in plan_steps(Severity.MAJOR)]
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
    ticket_resolve(ticket=later, actor=later.assignee, message="Done, as promised.")

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
    staff email, whatever a supervisor writes."""
    from recovery.services.followups import email_contexts, render_template

    followup_plan_set(
        severity=Severity.MAJOR,
        actor=supervisor,
        steps=[
            PlanStep(
                1,
                "About {{ ticket.subject }}",
                "[{{ ticket.assignee.password }}][{{ ticket.customer.email }}]{{ customer.name }}",
            )
        ],
    )
    ticket = advance(TicketFactory(kind=Kind.MISHAP, severity=Severity.MAJOR), to=Status.REBUILDING)
    followup = FollowUp.objects.get(ticket=ticket)

    body = render_template(followup.body_template, email_contexts([followup])[followup.pk])

    assert body == f"[][]{ticket.customer.name}"
