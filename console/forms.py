"""The console's forms. They check shape only (required, lengths, numbers);
the rules are the services', whose errors ``apply_service`` puts back on the
form as messages next to the field they concern."""

from collections.abc import Callable
from typing import Any, TypeVar

from django import forms
from django.conf import settings

from accounts.models import User
from core.errors import DomainError, StepsMissing
from recovery.models import RestitutionKind
from tickets.models import Channel, Kind, Queue, Severity

T = TypeVar("T")

TEXTAREA = forms.Textarea(attrs={"rows": 5, "cols": 80})


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


class MessageStepForm(forms.Form):
    message = forms.CharField(widget=TEXTAREA, help_text="Emailed to the customer.")


class AcknowledgeForm(MessageStepForm):
    our_part = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "cols": 80}),
        required=False,
        label="Our part in it",
        help_text="For a mishap: what we did wrong, in plain words. Required for mishaps.",
    )


class CommitForm(forms.Form):
    promise = forms.CharField(
        widget=TEXTAREA, help_text="What we will do. Emailed to the customer."
    )
    due_at = forms.DateTimeField(
        label="Due by",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text="In your time zone.",
    )
    value_restated = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2, "cols": 80}),
        required=False,
        label="The value restated",
        help_text="Optional: what the customer counted on, said again.",
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


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> Any:
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data]
        return [single(data, initial)] if data else []


class ReplyForm(forms.Form):
    body = forms.CharField(widget=TEXTAREA, label="Message")
    attachments = MultipleFileField(
        required=False, help_text="Sent with a reply; kept on the ticket with a note."
    )


class RestitutionForm(forms.Form):
    kind = forms.ChoiceField(choices=RestitutionKind.choices)
    amount = forms.DecimalField(max_digits=12, decimal_places=2, min_value=0)
    currency = forms.CharField(max_length=3, min_length=3)
    customer_loss = forms.DecimalField(
        max_digits=12,
        decimal_places=2,
        min_value=0,
        required=False,
        label="The customer's loss",
        help_text="What it cost them; we suggest 60 to 120% of it.",
    )
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3, "cols": 80}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["currency"].initial = settings.DEFAULT_CURRENCY


class TicketCreateForm(forms.Form):
    subject = forms.CharField(max_length=300)
    body = forms.CharField(widget=TEXTAREA, label="What the customer said")
    kind = forms.ChoiceField(choices=Kind.choices, initial=Kind.QUESTION)
    severity = forms.ChoiceField(choices=Severity.choices, initial=Severity.MINOR)
    channel = forms.ChoiceField(choices=Channel.choices, initial=Channel.PHONE)
    customer_email = forms.EmailField(label="Customer's email")
    customer_name = forms.CharField(max_length=200, required=False, label="Customer's name")
    queue = forms.ModelChoiceField(queryset=Queue.objects.none(), required=False)

    def __init__(self, *args: Any, queues: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["queue"].queryset = queues  # type: ignore[attr-defined]


class TicketEditForm(forms.Form):
    """Who works the ticket and how urgent it is. Only changed fields are sent
    to the service, so an unchanged form records nothing."""

    assignee = forms.ModelChoiceField(queryset=User.objects.none(), required=False)
    queue = forms.ModelChoiceField(queryset=Queue.objects.none(), required=False)
    severity = forms.ChoiceField(choices=Severity.choices)

    def __init__(self, *args: Any, staff: Any, queues: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = staff  # type: ignore[attr-defined]
        self.fields["queue"].queryset = queues  # type: ignore[attr-defined]


class MakeMishapForm(forms.Form):
    our_part = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        required=False,
        label="Our part in it",
        help_text="Required once the customer has been acknowledged.",
    )
    severity = forms.ChoiceField(choices=Severity.choices, required=False)
