"""The console's forms. They check shape only (required, lengths, numbers);
the rules are the services', whose errors ``apply_service`` puts back on the
form as messages next to the field they concern."""

import re
from collections.abc import Callable, Mapping
from typing import Any, TypeVar, cast

from django import forms
from django.conf import settings
from django.db.models import QuerySet

from accounts.models import User
from console.started_from import StartedFromSavedReply
from core.errors import DomainError, RuleViolation, StepsMissing
from core.forms import ListedModelChoiceField, MenuSelect, MultipleFileField
from core.money import DECIMAL_PLACES, MAX_DIGITS
from recovery.forms import StepTranslationsMixin, steps_of, template_field
from recovery.models import RestitutionKind
from recovery.services.followups_plans import (
    BODY_LIMIT,
    MAX_DAY,
    MAX_STEPS,
    MIN_DAY,
    SUBJECT_LIMIT,
    PlanStep,
    plan_steps_clean,
)
from tickets.models import Channel, Kind, Queue, Severity, Ticket
from tickets.models.ticket import ticket_id_from_reference
from tickets.services.lifecycle import MAX_COMMITMENT_YEARS

T = TypeVar("T")

TEXTAREA = forms.Textarea(attrs={"rows": 5, "cols": 80})
TO_THE_CUSTOMER = "Emailed to the customer, as the preview shows."
# Decided (issue 14): our part is the team's own account of the failure and
# is never sent to the customer; the acknowledgement's message is what they read.
OUR_PART_LABEL = "Our part in it (internal)"
OUR_PART_HELP = (
    "Internal: for your team, never sent to the customer. What we did wrong, in plain words."
)


def apply_service(form: forms.Form, call: Callable[[], T]) -> T | None:
    """Run a service; a domain error becomes the form's error (on its field
    when the error names one) and the result is None."""
    try:
        return call()
    except StepsMissing as error:
        form.missing_steps = error.missing_steps  # type: ignore[attr-defined]
        form.add_error(None, error.detail)
    except DomainError as error:
        fields = error.extra.get("errors") or {}
        placed = False
        for name, problems in fields.items():
            if name in form.fields:
                for problem in problems:
                    form.add_error(name, problem)
                placed = True
        if not placed:
            form.add_error(None, error.detail)
    return None


class MessageStepForm(StartedFromSavedReply):
    message = forms.CharField(widget=TEXTAREA, help_text=TO_THE_CUSTOMER)


class AcknowledgeForm(MessageStepForm):
    our_part = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "cols": 80}),
        required=False,
        label=OUR_PART_LABEL,
        help_text=f"{OUR_PART_HELP} Required for a mishap.",
    )


class CommitForm(StartedFromSavedReply):
    promise = forms.CharField(widget=TEXTAREA, help_text=f"What we will do. {TO_THE_CUSTOMER}")
    due_at = forms.DateTimeField(
        label="Due by",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text=f"In your time zone; at most {MAX_COMMITMENT_YEARS} years ahead.",
    )
    value_restated = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2, "cols": 80}),
        required=False,
        label="The value restated",
        help_text="Optional: what the customer counted on, said again. Emailed before the promise.",
    )


class ReasonForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3, "cols": 80}))


class OptionalReasonForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3, "cols": 80}), required=False)


STEP_FORMS: dict[str, type[forms.Form]] = {
    "acknowledge": AcknowledgeForm,
    "apologize": MessageStepForm,
    "commit": CommitForm,
    "resolve": MessageStepForm,
    "close": OptionalReasonForm,
    "restore": ReasonForm,
    "reopen": ReasonForm,
}


class ReplyForm(StartedFromSavedReply):
    body = forms.CharField(
        widget=TEXTAREA,
        label="Message",
        help_text=f"{TO_THE_CUSTOMER} An internal note stays with the team.",
    )
    attachments = MultipleFileField(
        required=False, help_text="Sent with a reply; kept on the ticket with a note."
    )


class RestitutionForm(forms.Form):
    kind = forms.ChoiceField(choices=RestitutionKind.choices, widget=MenuSelect)
    amount = forms.DecimalField(max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES, min_value=0)
    currency = forms.CharField(max_length=3, min_length=3)
    customer_loss = forms.DecimalField(
        max_digits=MAX_DIGITS,
        decimal_places=DECIMAL_PLACES,
        min_value=0,
        required=False,
        label="The customer's loss",
        help_text="What it cost them; we suggest 60 to 120% of it.",
    )
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3, "cols": 80}))

    def __init__(
        self, *args: Any, kinds: list[tuple[str, str]] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["currency"].initial = settings.DEFAULT_CURRENCY
        if kinds is not None:
            # The menu offers only the kinds this person may grant; one sent
            # anyway is refused by the service, which says why.
            self.fields["kind"].widget.choices = kinds


class TicketCreateForm(forms.Form):
    subject = forms.CharField(max_length=300)
    body = forms.CharField(widget=TEXTAREA, label="What the customer said")
    kind = forms.ChoiceField(choices=Kind.choices, initial=Kind.QUESTION)
    severity = forms.ChoiceField(choices=Severity.choices, initial=Severity.MINOR)
    channel = forms.ChoiceField(choices=Channel.choices, initial=Channel.PHONE)
    customer_email = forms.EmailField(label="Customer's email")
    customer_name = forms.CharField(
        max_length=200,
        required=False,
        label="Customer's name",
        help_text="Needed for a new customer; a known one's is filled in from their email.",
    )
    queue = ListedModelChoiceField(queryset=Queue.objects.none(), required=False)
    assignee = ListedModelChoiceField(
        queryset=User.objects.none(),
        required=False,
        label="Assign to",
        empty_label="Nobody yet",
        help_text="You, unless you choose someone else.",
    )

    def __init__(self, *args: Any, queues: Any, staff: Any, opener: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["queue"].queryset = queues  # type: ignore[attr-defined]
        self.fields["assignee"].queryset = staff  # type: ignore[attr-defined]
        self.fields["assignee"].initial = opener.pk


class TicketEditForm(forms.Form):
    """Who works the ticket and how urgent it is. Only changed fields are sent
    to the service, so an unchanged form records nothing."""

    assignee = ListedModelChoiceField(queryset=User.objects.none(), required=False)
    queue = ListedModelChoiceField(queryset=Queue.objects.none(), required=False)
    severity = forms.ChoiceField(choices=Severity.choices, widget=MenuSelect)

    def __init__(
        self,
        *args: Any,
        staff: Any,
        queues: Any,
        listed: Mapping[str, list[Any]] | None = None,
        **kwargs: Any,
    ) -> None:
        """``staff`` and ``queues`` check a choice; ``listed``, the menus'
        rows by field when read already (``console.selectors.ticket_menus``)."""
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = staff  # type: ignore[attr-defined]
        self.fields["queue"].queryset = queues  # type: ignore[attr-defined]
        for name, rows in (listed or {}).items():
            self.fields[name].rows = rows  # type: ignore[attr-defined]


class MakeMishapForm(forms.Form):
    our_part = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        required=False,
        label=OUR_PART_LABEL,
        help_text=f"{OUR_PART_HELP} Required once the customer has been acknowledged.",
    )
    severity = forms.ChoiceField(choices=Severity.choices, required=False)


# --- follow-up plans ----------------------------------------------------------------


class PlanStepForm(StepTranslationsMixin, forms.Form):
    """A step in English, and in the other languages we send in where the
    supervisor writes it (see StepTranslationsMixin)."""

    offset_days = forms.IntegerField(
        label="Day",
        min_value=MIN_DAY,
        max_value=MAX_DAY,
        help_text=f"Days after resolution, {MIN_DAY} to {MAX_DAY}.",
        # A class, not style=: the Content-Security-Policy refuses inline style.
        widget=forms.NumberInput(attrs={"class": "day-field"}),
    )
    subject_template = forms.CharField(label="Subject", max_length=SUBJECT_LIMIT)
    body_template = forms.CharField(
        label="Body", max_length=BODY_LIMIT, widget=forms.Textarea(attrs={"rows": 8, "cols": 80})
    )

    def clean_subject_template(self) -> str:
        return template_field(self.cleaned_data["subject_template"], field="subject_template")

    def clean_body_template(self) -> str:
        return template_field(self.cleaned_data["body_template"], field="body_template")


class BasePlanStepFormSet(forms.BaseFormSet):
    def steps(self) -> list[PlanStep]:
        """The steps kept: filled in and not marked for removal."""
        return steps_of(self.forms)

    def clean(self) -> None:
        if any(self.errors):
            return
        # The rules across steps (one per day, at least one) are the service's.
        try:
            plan_steps_clean(self.steps())
        except RuleViolation as error:
            raise forms.ValidationError(error.detail) from None


PlanStepFormSet = cast(
    type[BasePlanStepFormSet],
    forms.formset_factory(
        PlanStepForm, formset=BasePlanStepFormSet, extra=1, can_delete=True, max_num=MAX_STEPS
    ),
)


# --- process fixes -------------------------------------------------------------------


class ProcessFixForm(forms.Form):
    title = forms.CharField(max_length=200)
    root_cause = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "cols": 80}), help_text="Why it went wrong."
    )
    failsafe_change = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "cols": 80}),
        label="Failsafe change",
        help_text=(
            "What changes so that it cannot happen again. "
            "Follow-up emails quote it once the fix is done."
        ),
    )
    owner = ListedModelChoiceField(
        queryset=User.objects.none(), required=False, help_text="Empty: you own it."
    )
    tickets = forms.CharField(
        required=False,
        label="Tickets that showed the need",
        help_text="References separated by commas or spaces, such as HD-000123.",
    )

    def __init__(self, *args: Any, visible_tickets: QuerySet[Ticket], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.visible_tickets = visible_tickets
        self.fields["owner"].queryset = (  # type: ignore[attr-defined]
            User.objects.filter(is_active=True, is_staff=True, groups__isnull=False)
            .distinct()
            .order_by("username")
        )

    def clean_tickets(self) -> list[Ticket]:
        words = [w for w in re.split(r"[\s,;]+", self.cleaned_data["tickets"]) if w]
        ids: list[int] = []
        for word in words:
            ticket_id = ticket_id_from_reference(word)
            if ticket_id is None:
                raise forms.ValidationError(f"“{word}” is not a ticket reference (HD-000123).")
            ids.append(ticket_id)
        found = {t.pk: t for t in self.visible_tickets.filter(pk__in=ids)}
        unknown = [word for word, pk in zip(words, ids, strict=True) if pk not in found]
        if unknown:
            raise forms.ValidationError(f"No ticket you can see: {', '.join(unknown)}.")
        return list(found.values())
