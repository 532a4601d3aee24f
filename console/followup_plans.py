"""Follow-up plans in the console: supervisors see each severity's check-ins
and edit them. Saving calls one service, ``followup_plan_set``."""

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import path, reverse
from django.utils import translation

from console import selectors
from console.access import require
from console.forms import PlanStepFormSet
from console.sites import console_site
from core.errors import DomainError
from core.languages import FALLBACK
from recovery.followup_defaults import DEFAULT_STEPS
from recovery.followup_templates import placeholders_listed
from recovery.models import FollowUpPlan, FollowUpPlanChange
from recovery.services import followup_plan_set
from recovery.services.followups_plans import translation_languages
from tickets.models import Severity

CHANGE_PLAN = "recovery.change_followupplan"


def _steps(plan: FollowUpPlan | None) -> list[dict[str, Any]]:
    """A plan's steps as the forms start from them: the saved ones, or the
    code's default, in English and in each language its catalogue has."""
    if plan is None:
        return [_default_step(day, subject, body) for day, subject, body in DEFAULT_STEPS]
    return [
        {
            "offset_days": step.offset_days,
            "subject_template": step.subject_template,
            "body_template": step.body_template,
            "translations": step.translations,
            "languages": _names(step.translations),
        }
        for step in plan.steps.all()
    ]


def _default_step(day: int, subject: Any, body: Any) -> dict[str, Any]:
    with translation.override(FALLBACK):
        english = (str(subject), str(body))
    translations = {}
    for code, _name in translation_languages():
        with translation.override(code):
            text = (str(subject), str(body))
        # A language the catalogue does not translate yet is left empty: a
        # copy of the English saved as, say, Portuguese would send English
        # text marked lang="pt-BR".
        if text != english:
            translations[code] = {"subject": text[0], "body": text[1]}
    return {
        "offset_days": day,
        "subject_template": english[0],
        "body_template": english[1],
        "translations": translations,
        "languages": _names(translations),
    }


def _names(translations: dict[str, Any]) -> list[str]:
    return [name for code, name in translation_languages() if code in translations]


def plan_list_view(request: HttpRequest) -> HttpResponse:
    require(request, CHANGE_PLAN)
    saved = selectors.followup_plans()
    plans = [
        {
            "severity": severity,
            "label": label,
            "plan": saved.get(severity),
            "steps": _steps(saved.get(severity)),
        }
        for severity, label in Severity.choices
    ]
    return console_site.render(
        request, "console/followup_plans.html", {"title": "Follow-up plans", "plans": plans}
    )


def plan_edit_view(request: HttpRequest, severity: str) -> HttpResponse:
    user = require(request, CHANGE_PLAN)
    if severity not in Severity.values:
        raise Http404("No such severity.")
    label = Severity(severity).label
    plan = selectors.followup_plans().get(severity)
    if request.method == "POST":
        # What was posted is the whole new plan; no comparison with the old one,
        # so a step left as it was is kept, not skipped as "unchanged".
        formset = PlanStepFormSet(request.POST, prefix="steps")
    else:
        formset = PlanStepFormSet(initial=_steps(plan), prefix="steps")
    service_error = None
    if request.method == "POST" and formset.is_valid():
        try:
            followup_plan_set(severity=severity, actor=user, steps=formset.steps())
        except DomainError as error:
            service_error = error.detail
        else:
            messages.success(
                request,
                f"The {label.lower()} plan is saved. It applies to mishaps resolved from now "
                "on; follow-ups already scheduled keep their text.",
            )
            return HttpResponseRedirect(reverse("console:followup_plans"))
    changes = (
        list(
            FollowUpPlanChange.objects.filter(plan=plan)
            .select_related("changed_by")
            .order_by("-changed_at", "-id")[:10]
        )
        if plan is not None
        else []
    )
    return console_site.render(
        request,
        "console/followup_plan_edit.html",
        {
            "title": f"Follow-up plan for {label.lower()} mishaps",
            "severity": severity,
            "label": label,
            "plan": plan,
            "formset": formset,
            "service_error": service_error,
            "changes": changes,
            # The help's list of placeholders, from the one the checker uses.
            "placeholders": placeholders_listed(),
        },
        status=400 if request.method == "POST" else 200,
    )


def urls(site: Any) -> list[Any]:
    return [
        path("followup-plans/", site.admin_view(plan_list_view), name="followup_plans"),
        path(
            "followup-plans/<str:severity>/",
            site.admin_view(plan_edit_view),
            name="followup_plan_edit",
        ),
    ]
