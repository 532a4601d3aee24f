"""Supervisors see and edit the follow-up plans in the console."""

from types import SimpleNamespace
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from accounts.models import User
from recovery.followup_defaults import DEFAULT_STEPS
from recovery.followup_templates import placeholders_listed
from recovery.models import FollowUpPlan, FollowUpPlanChange
from recovery.services import PlanStep, followup_plan_set
from tests.helpers import console_client, count_queries, plan_steps

pytestmark = pytest.mark.django_db

PLANS = reverse("console:followup_plans")


def edit(severity: str) -> str:
    return reverse("console:followup_plan_edit", args=[severity])


def form_data(
    steps: list[tuple[Any, str, str]], *, delete: frozenset[int] = frozenset(), initial: int = 0
) -> dict[str, Any]:
    """What the browser posts: the first ``initial`` steps came with the page."""
    data: dict[str, Any] = {
        "steps-TOTAL_FORMS": str(len(steps)),
        "steps-INITIAL_FORMS": str(initial),
        "steps-MIN_NUM_FORMS": "0",
        "steps-MAX_NUM_FORMS": "1000",
    }
    for i, (day, subject, body) in enumerate(steps):
        data[f"steps-{i}-offset_days"] = str(day)
        # str(): the default plan's texts are lazily translated.
        data[f"steps-{i}-subject_template"] = str(subject)
        data[f"steps-{i}-body_template"] = str(body)
        if i in delete:
            data[f"steps-{i}-DELETE"] = "on"
    return data


def test_anonymous_visitors_are_asked_to_sign_in() -> None:
    for url in (PLANS, edit("minor")):
        response = Client().get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("console:login"))


def test_agents_may_not_see_or_change_plans(agent: User) -> None:
    client = console_client(agent)
    before = plan_steps("minor")

    assert client.get(PLANS).status_code == 403
    assert client.get(edit("minor")).status_code == 403
    assert client.post(edit("minor"), form_data([(2, "Hi", "Hello")])).status_code == 403
    assert plan_steps("minor") == before


def test_the_list_shows_each_severity_with_its_steps_or_the_default(supervisor: User) -> None:
    followup_plan_set(
        severity="critical", actor=supervisor, steps=[PlanStep(3, "Day three", "Hello")]
    )
    FollowUpPlan.objects.filter(severity="major").delete()

    response = console_client(supervisor).get(PLANS)

    body = response.content.decode()
    assert response.status_code == 200
    plans = {p["severity"]: p for p in response.context["plans"]}
    assert list(plans) == ["minor", "major", "critical"]
    assert [s["offset_days"] for s in plans["major"]["steps"]] == [d for d, _, _ in DEFAULT_STEPS]
    assert plans["major"]["plan"] is None
    assert "Default plan" in body
    assert [s["subject_template"] for s in plans["critical"]["steps"]] == ["Day three"]
    assert f"Last changed by {supervisor}" in body
    assert "Follow-up plans" in [i["label"] for i in response.context["console_menu"]]


def test_the_edit_page_starts_from_the_current_steps(supervisor: User) -> None:
    response = console_client(supervisor).get(edit("minor"))

    formset = response.context["formset"]
    assert response.status_code == 200
    assert [f.initial["offset_days"] for f in formset.initial_forms] == [1, 7, 30]
    assert len(formset.forms) == 4  # and one empty, to add a step


def test_the_edit_page_says_how_templates_are_written_and_checked(supervisor: User) -> None:
    page = console_client(supervisor).get(edit("minor")).content.decode()

    assert "Jinja2 templates, checked when you save" in page
    assert "Django" not in page
    # Every placeholder the checker allows, from its own list.
    assert f"All the placeholders: {placeholders_listed()}." in page.replace("&#x27;", "'")


def test_a_supervisor_adds_and_removes_steps(supervisor: User) -> None:
    steps = [(day, str(subject), str(body)) for day, subject, body in DEFAULT_STEPS]
    steps.append((60, "Two months on", "Still with us, {{ customer.name }}?"))

    response = console_client(supervisor).post(
        edit("major"), form_data(steps, delete=frozenset({1}), initial=3)
    )

    assert response.status_code == 302
    assert response["Location"] == PLANS
    assert [(d, s) for d, s, _ in plan_steps("major")] == [
        (1, DEFAULT_STEPS[0][1]),
        (30, DEFAULT_STEPS[2][1]),
        (60, "Two months on"),
    ]
    assert FollowUpPlanChange.objects.get().changed_by == supervisor
    assert plan_steps("minor") == [tuple(s) for s in DEFAULT_STEPS]


def test_an_empty_extra_form_is_ignored(supervisor: User) -> None:
    data = form_data([(5, "Five", "Body"), ("", "", "")])

    response = console_client(supervisor).post(edit("minor"), data)

    assert response.status_code == 302
    assert [d for d, _, _ in plan_steps("minor")] == [5]


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        ([(1, "Hi", "Hello {% if customer %}")], "The template has an error"),
        ([(1, "Hi {{ customer.name|nope }}", "Hello")], "The template has an error"),
        ([(0, "Hi", "Hello")], "greater than or equal to 1"),
        ([(400, "Hi", "Hello")], "less than or equal to 365"),
        ([(3, "Hi", "Hello"), (3, "Again", "Hello")], "already a step on day 3"),
        ([(3, "Hi", "")], "This field is required"),
    ],
)
def test_a_bad_plan_is_refused_with_a_clear_message_and_nothing_changes(
    supervisor: User, steps: list[tuple[Any, str, str]], message: str
) -> None:
    before = plan_steps("minor")

    response = console_client(supervisor).post(edit("minor"), form_data(steps))

    assert response.status_code == 400
    assert message in response.content.decode()
    assert plan_steps("minor") == before
    assert not FollowUpPlanChange.objects.exists()


def test_removing_every_step_is_refused(supervisor: User) -> None:
    steps = [(day, str(subject), str(body)) for day, subject, body in DEFAULT_STEPS]

    response = console_client(supervisor).post(
        edit("minor"), form_data(steps, delete=frozenset({0, 1, 2}), initial=3)
    )

    assert response.status_code == 400
    assert "at least one step" in response.content.decode()
    assert len(plan_steps("minor")) == 3


def test_an_unknown_severity_is_not_found(supervisor: User) -> None:
    assert console_client(supervisor).get(edit("apocalyptic")).status_code == 404


def test_the_pages_cost_the_same_queries_whatever_the_plans_size(supervisor: User) -> None:
    client = console_client(supervisor)
    followup_plan_set(severity="minor", actor=supervisor, steps=[PlanStep(1, "One", "Body")])
    few = (count_queries(client, PLANS), count_queries(client, edit("minor")))
    followup_plan_set(
        severity="minor",
        actor=supervisor,
        steps=[PlanStep(day, f"Day {day}", "Body") for day in range(1, 16)],
    )

    assert (count_queries(client, PLANS), count_queries(client, edit("minor"))) == few


# --- Other languages -------------------------------------------------------------------


def test_a_supervisor_writes_a_step_in_another_language(supervisor: User) -> None:
    client = console_client(supervisor)
    page = client.get(edit("minor")).content.decode()
    assert "<summary>Other languages</summary>" in page
    assert "Português (Brasil)" in page
    assert "style=" not in page.split("<main", 1)[-1]  # classes only, under the CSP
    data = form_data([(2, "Two days on", "How is it going?")])
    data["steps-0-subject_template_pt_br"] = "Dois dias depois"
    data["steps-0-body_template_pt_br"] = "Como vai, {{ customer.name }}?"

    response = client.post(edit("minor"), data)

    assert response.status_code == 302
    plan = FollowUpPlan.objects.get(severity="minor")
    [step] = plan.steps.all()
    assert step.translations == {
        "pt-br": {"subject": "Dois dias depois", "body": "Como vai, {{ customer.name }}?"}
    }
    assert FollowUpPlanChange.objects.get().new == [
        [2, "Two days on", "How is it going?", step.translations]
    ]
    # The page again: the language unfolded, with its text.
    again = client.get(edit("minor")).content.decode()
    assert '<details class="step-languages" open>' in again
    assert "Dois dias depois" in again


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"subject_template_de": "Hallo", "body_template_de": "{% if customer %}"},
            "Deutsch: The template has an error",
        ),
        (
            {"subject_template_fr": "Bonjour", "body_template_fr": "{% debug %}"},
            "Français: The debug tag is not allowed",
        ),
        (
            {"subject_template_es": "Hola"},
            "Español: give both a subject and a body, or neither",
        ),
    ],
)
def test_a_bad_translation_is_refused_with_a_clear_message_and_nothing_saved(
    supervisor: User, fields: dict[str, str], message: str
) -> None:
    before = plan_steps("minor")
    data = form_data([(2, "Two days on", "How is it going?")])
    data.update({f"steps-0-{name}": value for name, value in fields.items()})

    response = console_client(supervisor).post(edit("minor"), data)

    page = response.content.decode()
    assert response.status_code == 400
    assert message in page
    assert "Nothing was saved" in page
    assert '<details class="step-languages" open>' in page  # the problem is in view
    assert plan_steps("minor") == before
    assert not FollowUpPlanChange.objects.exists()


def test_the_default_plan_opens_with_each_language_the_catalogues_translate(
    supervisor: User,
) -> None:
    FollowUpPlan.objects.filter(severity="minor").delete()

    response = console_client(supervisor).get(edit("minor"))

    first = response.context["formset"].initial_forms[0].initial
    assert first["subject_template"] == "Is everything all right now?"
    assert set(first["translations"]) == {"es", "pt-br", "de", "fr"}
    assert first["translations"]["pt-br"]["subject"] == "Está tudo certo agora?"
    assert first["translations"]["de"]["subject"] == "Ist jetzt alles in Ordnung?"


def test_a_language_the_catalogues_do_not_translate_is_left_empty_not_copied(
    supervisor: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A copy of the English saved as, say, Portuguese would send English
    text marked lang="pt-BR"."""
    FollowUpPlan.objects.filter(severity="minor").delete()
    english_only = SimpleNamespace(override=lambda language: translation.override("en"))
    monkeypatch.setattr("console.followup_plans.translation", english_only)

    response = console_client(supervisor).get(edit("minor"))

    assert all(not f.initial["translations"] for f in response.context["formset"].initial_forms)
    assert '<details class="step-languages">' in response.content.decode()
