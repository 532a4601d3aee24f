"""Supervisors edit follow-up plans in the admin; a broken template is refused."""

from typing import Any

import pytest
from django.test import Client

from accounts.models import User
from recovery.models import FollowUpPlan, FollowUpPlanChange
from recovery.services.followups import plan_steps

pytestmark = pytest.mark.django_db


def form_data(plan: FollowUpPlan, **step_changes: str) -> dict[str, Any]:
    steps = list(plan.steps.all())
    data: dict[str, Any] = {
        "steps-TOTAL_FORMS": str(len(steps)),
        "steps-INITIAL_FORMS": str(len(steps)),
        "steps-MIN_NUM_FORMS": "0",
        "steps-MAX_NUM_FORMS": "1000",
    }
    for i, step in enumerate(steps):
        data.update(
            {
                f"steps-{i}-id": str(step.pk),
                f"steps-{i}-plan": str(plan.pk),
                f"steps-{i}-offset_days": str(step.offset_days),
                f"steps-{i}-subject_template": step.subject_template,
                f"steps-{i}-body_template": step.body_template,
            }
        )
    for key, value in step_changes.items():
        data[f"steps-0-{key}"] = value
    return data


@pytest.fixture
def plan() -> FollowUpPlan:
    plan, _ = FollowUpPlan.objects.get_or_create(severity="minor")
    if not plan.steps.exists():
        plan.steps.create(
            offset_days=1, subject_template="Hello", body_template="Hi {{ customer.name }}"
        )
    return plan


def test_a_supervisor_changes_a_step_of_the_plan(supervisor: User, plan: FollowUpPlan) -> None:
    client = Client()
    client.force_login(supervisor)

    response = client.post(
        f"/admin/recovery/followupplan/{plan.pk}/change/",
        form_data(plan, offset_days="2", subject_template="Two days on"),
    )

    assert response.status_code == 302, response.content[:2000]
    assert plan_steps("minor")[0][:2] == (2, "Two days on")
    plan.refresh_from_db()
    assert plan.updated_by == supervisor


def test_a_broken_template_is_refused(supervisor: User, plan: FollowUpPlan) -> None:
    client = Client()
    client.force_login(supervisor)
    before = plan_steps("minor")

    response = client.post(
        f"/admin/recovery/followupplan/{plan.pk}/change/",
        form_data(plan, body_template="Hi {% if customer %}"),
    )

    assert response.status_code == 200
    assert b"This template has an error" in response.content
    assert plan_steps("minor") == before


def test_an_agent_cannot_edit_plans(agent: User, plan: FollowUpPlan) -> None:
    client = Client()
    client.force_login(agent)

    response = client.post(f"/admin/recovery/followupplan/{plan.pk}/change/", form_data(plan))

    assert response.status_code == 403


def test_the_admin_saves_through_the_service_and_records_the_change(
    supervisor: User, plan: FollowUpPlan
) -> None:
    client = Client()
    client.force_login(supervisor)

    client.post(
        f"/admin/recovery/followupplan/{plan.pk}/change/",
        form_data(plan, subject_template="Changed in the admin"),
    )

    change = FollowUpPlanChange.objects.get(plan=plan)
    assert change.changed_by == supervisor
    assert change.new[0][1] == "Changed in the admin"


def test_the_admin_refuses_a_plan_without_steps(supervisor: User, plan: FollowUpPlan) -> None:
    client = Client()
    client.force_login(supervisor)
    before = plan_steps("minor")
    data = form_data(plan)
    for i in range(int(data["steps-TOTAL_FORMS"])):
        data[f"steps-{i}-DELETE"] = "on"

    response = client.post(f"/admin/recovery/followupplan/{plan.pk}/change/", data)

    assert response.status_code == 200
    assert b"at least one step" in response.content
    assert plan_steps("minor") == before
