"""Admins edit follow-up plans in Django's admin too (supervisors in the
console); a broken template is refused."""

from typing import Any

import pytest
from django.test import Client

from accounts.models import User
from recovery.models import FollowUpPlan, FollowUpPlanChange
from tests.helpers import plan_steps

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


def test_an_admin_changes_a_step_of_the_plan(admin_staff: User, plan: FollowUpPlan) -> None:
    client = Client()
    client.force_login(admin_staff)

    response = client.post(
        f"/admin/recovery/followupplan/{plan.pk}/change/",
        form_data(plan, offset_days="2", subject_template="Two days on"),
    )

    assert response.status_code == 302, response.content[:2000]
    assert plan_steps("minor")[0][:2] == (2, "Two days on")
    plan.refresh_from_db()
    assert plan.updated_by == admin_staff


def test_a_broken_template_is_refused(admin_staff: User, plan: FollowUpPlan) -> None:
    client = Client()
    client.force_login(admin_staff)
    before = plan_steps("minor")

    response = client.post(
        f"/admin/recovery/followupplan/{plan.pk}/change/",
        form_data(plan, body_template="Hi {% if customer %}"),
    )

    assert response.status_code == 200
    assert b"The template has an error" in response.content
    assert plan_steps("minor") == before


@pytest.mark.parametrize("role", ["agent", "supervisor"])
def test_agents_and_supervisors_cannot_edit_plans_here(
    role: str, request: pytest.FixtureRequest, plan: FollowUpPlan
) -> None:
    client = Client()
    client.force_login(request.getfixturevalue(role))
    before = plan_steps("minor")

    response = client.post(
        f"/admin/recovery/followupplan/{plan.pk}/change/",
        form_data(plan, subject_template="Sneaked in"),
    )

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
    assert plan_steps("minor") == before


def test_the_admin_saves_through_the_service_and_records_the_change(
    admin_staff: User, plan: FollowUpPlan
) -> None:
    client = Client()
    client.force_login(admin_staff)

    client.post(
        f"/admin/recovery/followupplan/{plan.pk}/change/",
        form_data(plan, subject_template="Changed in the admin"),
    )

    change = FollowUpPlanChange.objects.get(plan=plan)
    assert change.changed_by == admin_staff
    assert change.new[0][1] == "Changed in the admin"


def test_the_admin_refuses_a_plan_without_steps(admin_staff: User, plan: FollowUpPlan) -> None:
    client = Client()
    client.force_login(admin_staff)
    before = plan_steps("minor")
    data = form_data(plan)
    for i in range(int(data["steps-TOTAL_FORMS"])):
        data[f"steps-{i}-DELETE"] = "on"

    response = client.post(f"/admin/recovery/followupplan/{plan.pk}/change/", data)

    assert response.status_code == 200
    assert b"at least one step" in response.content
    assert plan_steps("minor") == before


def test_an_admin_writes_a_step_in_another_language(admin_staff: User, plan: FollowUpPlan) -> None:
    client = Client()
    client.force_login(admin_staff)
    assert b"In Deutsch" in client.get(f"/admin/recovery/followupplan/{plan.pk}/change/").content

    response = client.post(
        f"/admin/recovery/followupplan/{plan.pk}/change/",
        form_data(
            plan,
            subject_template_de="Wie geht es?",
            body_template_de="Ist alles in Ordnung?",
        ),
    )

    assert response.status_code == 302, response.content[:2000]
    step = plan.steps.get()
    assert step.translations == {"de": {"subject": "Wie geht es?", "body": "Ist alles in Ordnung?"}}
    assert FollowUpPlanChange.objects.get(plan=plan).new[0][3] == step.translations


def test_a_broken_template_in_a_translation_is_refused(
    admin_staff: User, plan: FollowUpPlan
) -> None:
    client = Client()
    client.force_login(admin_staff)
    before = list(plan.steps.values_list("translations", flat=True))

    response = client.post(
        f"/admin/recovery/followupplan/{plan.pk}/change/",
        form_data(plan, subject_template_fr="Bonjour", body_template_fr="{% if customer %}"),
    )

    assert response.status_code == 200
    assert "Français: The template has an error" in response.content.decode()
    assert list(plan.steps.values_list("translations", flat=True)) == before
    assert not FollowUpPlanChange.objects.exists()


def test_an_admin_adds_the_plan_of_a_severity_on_the_default(admin_staff: User) -> None:
    FollowUpPlan.objects.filter(severity="critical").delete()
    client = Client()
    client.force_login(admin_staff)
    assert client.get("/admin/recovery/followupplan/add/").status_code == 200

    response = client.post(
        "/admin/recovery/followupplan/add/",
        {
            "severity": "critical",
            "steps-TOTAL_FORMS": "1",
            "steps-INITIAL_FORMS": "0",
            "steps-MIN_NUM_FORMS": "0",
            "steps-MAX_NUM_FORMS": "1000",
            "steps-0-offset_days": "2",
            "steps-0-subject_template": "Two days on",
            "steps-0-body_template": "How is it going?",
        },
    )

    assert response.status_code == 302, response.content[:3000]
    assert plan_steps("critical") == [(2, "Two days on", "How is it going?")]
    assert FollowUpPlan.objects.get(severity="critical").updated_by == admin_staff
