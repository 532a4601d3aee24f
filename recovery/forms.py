"""Forms of the recovery app: what the plan editors (the Django admin's and
the console's) share (a step's text in the other languages we send in, and
the steps a formset keeps), and the customer's feedback form."""

from collections.abc import Iterable, Mapping
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from core.errors import RuleViolation
from recovery.followup_templates import validate_template
from recovery.selectors.followup_links import RATINGS
from recovery.services.followup_emails import RATING_LABELS
from recovery.services.followup_responses import FEEDBACK_COMMENT_LIMIT
from recovery.services.followups_plans import (
    BODY_LIMIT,
    SUBJECT_LIMIT,
    PlanStep,
    translation_languages,
)


def translation_field_names(language: str) -> tuple[str, str]:
    """The form fields (and the service's error fields) of one language's
    subject and body: ``subject_template_pt_br``, ``body_template_pt_br``."""
    suffix = language.replace("-", "_")
    return f"subject_template_{suffix}", f"body_template_{suffix}"


def template_field(source: str, *, field: str) -> str:
    """``source`` if a follow-up can send it (validate_template), for a plan
    editor's ``clean_<field>``; otherwise the checker's message shown next
    to the field."""
    try:
        return validate_template(source, field=field)
    except RuleViolation as error:
        raise forms.ValidationError(error.detail) from None


class StepTranslationsMixin(forms.BaseForm):
    """A step form's subject and body in each language besides English,
    both optional; a language given one of them needs the other. Their
    first values come from the initial ``translations`` (the console) or
    the step's (the admin); ``translations()`` gives them back for PlanStep."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        instance = getattr(self, "instance", None)
        given = self.initial.get("translations") or getattr(instance, "translations", None) or {}
        for code, name in translation_languages():
            text = given.get(code) if isinstance(given, Mapping) else None
            text = text if isinstance(text, Mapping) else {}
            subject, body = translation_field_names(code)
            self.fields[subject] = forms.CharField(
                label=f"Subject ({name})",
                required=False,
                max_length=SUBJECT_LIMIT,
                initial=text.get("subject", ""),
            )
            self.fields[body] = forms.CharField(
                label=f"Body ({name})",
                required=False,
                max_length=BODY_LIMIT,
                initial=text.get("body", ""),
                widget=forms.Textarea(attrs={"rows": 6, "cols": 80}),
            )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        for code, name in translation_languages():
            for field in translation_field_names(code):
                if cleaned.get(field):
                    try:
                        cleaned[field] = validate_template(cleaned[field], field=field)
                    except RuleViolation as error:
                        self.add_error(field, f"{name}: {error.detail}")
            subject, body = translation_field_names(code)
            has_subject = bool((cleaned.get(subject) or "").strip())
            has_body = bool((cleaned.get(body) or "").strip())
            if has_subject != has_body and not self.has_error(subject) and not self.has_error(body):
                self.add_error(
                    body if has_subject else subject,
                    f"{name}: give both a subject and a body, or neither (then the "
                    "customers reading it get the English).",
                )
        return cleaned

    def translations(self) -> dict[str, dict[str, str]]:
        """The languages given, as the service takes them."""
        data = self.cleaned_data
        given = {}
        for code, _name in translation_languages():
            subject, body = (data.get(field) or "" for field in translation_field_names(code))
            if subject.strip() or body.strip():
                given[code] = {"subject": subject, "body": body}
        return given

    def main_fields(self) -> list[forms.BoundField]:
        """The English fields and the rest, for the template: not the translations."""
        names = {f for code, _ in translation_languages() for f in translation_field_names(code)}
        return [field for field in self if field.name not in names]

    def languages(self) -> list[dict[str, Any]]:
        """Each other language with its two bound fields, for the template."""
        return [
            {"code": code, "name": name, "fields": [self[f] for f in translation_field_names(code)]}
            for code, name in translation_languages()
        ]

    def languages_open(self) -> bool:
        """Show the other languages unfolded when one is filled in or wrong."""
        return any(
            field.errors or field.value() for lang in self.languages() for field in lang["fields"]
        )


CHOOSE_A_RATING = _("Choose a rating from 1 to 5.")


def steps_of(step_forms: Iterable[forms.BaseForm]) -> list[PlanStep]:
    """The steps a formset keeps: filled in and not marked for removal."""
    return [
        PlanStep(
            form.cleaned_data["offset_days"],
            form.cleaned_data["subject_template"],
            form.cleaned_data["body_template"],
            form.translations() if isinstance(form, StepTranslationsMixin) else {},
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
