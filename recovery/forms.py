"""Forms of the recovery app: what the plan editors (the Django admin's and
the console's) share, and the customer's feedback form."""

from collections.abc import Iterable

from django import forms
from django.utils.translation import gettext_lazy as _

from recovery.services.followups import FEEDBACK_COMMENT_LIMIT, RATINGS
from recovery.services.followups_plans import PlanStep

# The words beside each rating, in the customer's language.
RATING_LABELS = {
    5: _("Very well"),
    4: _("Well"),
    3: _("Neither well nor badly"),
    2: _("Badly"),
    1: _("Very badly"),
}
CHOOSE_A_RATING = _("Choose a rating from 1 to 5.")


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


class FeedbackForm(forms.Form):
    """A rating and an optional comment, from the customer's feedback pages.
    Each error says what to do, in the customer's language: the services
    check the same rules again, in English, for their other callers."""

    rating = forms.TypedChoiceField(
        choices=[(rating, RATING_LABELS[rating]) for rating in RATINGS],
        coerce=int,
        error_messages={"required": CHOOSE_A_RATING, "invalid_choice": CHOOSE_A_RATING},
    )
    comment = forms.CharField(
        required=False,
        max_length=FEEDBACK_COMMENT_LIMIT,
        error_messages={
            "max_length": _(
                "Your comment is longer than %(limit_value)d characters "
                "(it has %(show_value)d). Please shorten it."
            ),
            # PostgreSQL cannot store it, and no keyboard types it.
            "null_characters_not_allowed": _(
                "Your comment contains a null character, which we cannot store. Please remove it."
            ),
        },
    )
