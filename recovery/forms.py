"""What the plan editors (the Django admin's and the console's) share."""

from collections.abc import Iterable

from django import forms

from recovery.services.followups_plans import PlanStep


def steps_of(step_forms: Iterable[forms.BaseForm]) -> list[PlanStep]:
    """The steps a formset keeps: filled in and not marked for removal."""
    return [
        PlanStep(
            form.cleaned_data["offset_days"],
            form.cleaned_data["subject_template"],
            form.cleaned_data["body_template"],
        )
        for form in step_forms
        if form.cleaned_data and not form.cleaned_data.get("DELETE")
    ]
