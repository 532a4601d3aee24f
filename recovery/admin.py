"""Admin pages of the recovery app. Money changes only through the services
(the API and the console), so restitutions, approvals and the ledger are
read-only here; webhook endpoints are configuration and are edited here."""

from typing import Any

from django import forms
from django.contrib import admin
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest

from accounts.models import User
from core.admin import ReadOnlyAdmin
from core.errors import RuleViolation
from recovery.forms import (
    StepTranslationsMixin,
    steps_of,
    template_field,
    translation_field_names,
)
from recovery.models import (
    ApprovalRequest,
    AuthorityPolicy,
    AuthorityPolicyChange,
    Feedback,
    FollowUp,
    FollowUpPlan,
    FollowUpPlanChange,
    FollowUpPlanStep,
    ProcessFix,
    Restitution,
    SpendEntry,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from recovery.services.followups_plans import (
    followup_plan_set,
    plan_steps_clean,
    translation_languages,
)
from recovery.services.webhooks import MIN_SECRET_CHARS, webhook_endpoint_save
from tickets.models import Severity


@admin.register(ProcessFix)
class ProcessFixAdmin(ReadOnlyAdmin):
    list_display = ("title", "status", "owner", "created_at")
    list_filter = ("status",)
    list_select_related = ("owner",)
    search_fields = ("title", "root_cause")


@admin.register(Restitution)
class RestitutionAdmin(ReadOnlyAdmin):
    list_display = ("id", "ticket", "kind", "amount", "currency", "status", "agent", "charged_to")
    list_filter = ("status", "kind", "currency")
    list_select_related = ("ticket", "agent", "charged_to")


@admin.register(ApprovalRequest)
class ApprovalRequestAdmin(ReadOnlyAdmin):
    list_display = ("id", "restitution", "status", "requested_by", "decided_by", "created_at")
    list_filter = ("status",)
    list_select_related = ("restitution", "requested_by", "decided_by")


@admin.register(SpendEntry)
class SpendEntryAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "user", "amount", "currency", "restitution")
    list_select_related = ("user", "restitution")


@admin.register(AuthorityPolicy)
class AuthorityPolicyAdmin(ReadOnlyAdmin):
    list_display = ("user", "per_incident_limit", "per_period_limit", "period", "currency")
    list_select_related = ("user",)


@admin.register(AuthorityPolicyChange)
class AuthorityPolicyChangeAdmin(ReadOnlyAdmin):
    list_display = ("changed_at", "user", "changed_by")
    list_select_related = ("user", "changed_by")


class WebhookEndpointForm(forms.ModelForm):
    url = forms.URLField(max_length=500, assume_scheme="https")
    events = forms.MultipleChoiceField(
        choices=WebhookEndpoint.Event.choices, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = WebhookEndpoint
        fields = ("url", "secret", "events", "active")

    def clean_url(self) -> str:
        url: str = self.cleaned_data["url"]
        if not url.startswith(("https://", "http://")):
            raise forms.ValidationError("Use an http or https address.")
        return url

    def clean_secret(self) -> str:
        secret: str = self.cleaned_data["secret"]
        if len(secret) < MIN_SECRET_CHARS:
            raise forms.ValidationError(f"Use a secret of at least {MIN_SECRET_CHARS} characters.")
        return secret


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    form = WebhookEndpointForm
    list_display = ("url", "active", "created_at")

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Its deliveries are the record of what was sent: switch it off instead.
        return False

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        data = form.cleaned_data
        saved = webhook_endpoint_save(
            endpoint=obj if change else None,
            url=data["url"],
            secret=data["secret"],
            events=list(data["events"]),
            active=data["active"],
        )
        obj.pk = saved.pk


class AttemptInline(admin.TabularInline):
    model = WebhookAttempt
    fields = ("attempted_at", "status_code", "error", "duration_ms")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "event", "endpoint", "status", "attempts")
    list_filter = ("status", "event")
    list_select_related = ("endpoint",)
    inlines = (AttemptInline,)


STEP_FIELDS = ("offset_days", "subject_template", "body_template")


class PlanStepForm(StepTranslationsMixin, forms.ModelForm):
    class Meta:
        model = FollowUpPlanStep
        fields = STEP_FIELDS

    def clean_subject_template(self) -> str:
        return template_field(self.cleaned_data["subject_template"], field="subject_template")

    def clean_body_template(self) -> str:
        return template_field(self.cleaned_data["body_template"], field="body_template")


class PlanStepFormSet(BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return
        # The service's rules (one step per day, at least one step), shown on the
        # page instead of failing at save time.
        try:
            plan_steps_clean(steps_of(self.forms))
        except RuleViolation as exc:
            raise forms.ValidationError(exc.detail) from None


def _language_fieldsets() -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"In {name}", {"classes": ["collapse"], "fields": translation_field_names(code)})
        for code, name in translation_languages()
    ]


class PlanStepInline(admin.StackedInline):
    """Stacked: each step's English text, then its other languages folded away."""

    model = FollowUpPlanStep
    form = PlanStepForm
    formset = PlanStepFormSet
    extra = 0

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        return [(None, {"fields": STEP_FIELDS}), *_language_fieldsets()]

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        # The model's fields only: the form adds the languages' own (they are
        # not columns, so modelform_factory would refuse them by name).
        return super().get_formset(request, obj, **{**kwargs, "fields": STEP_FIELDS})


class PlanForm(forms.ModelForm):
    class Meta:
        model = FollowUpPlan
        fields = ("severity",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "severity" in self.fields:
            # Adding: only a severity whose plan is still the code's default.
            saved = set(FollowUpPlan.objects.values_list("severity", flat=True))
            self.fields["severity"] = forms.ChoiceField(
                choices=[(v, label) for v, label in Severity.choices if v not in saved]
            )


@admin.register(FollowUpPlan)
class FollowUpPlanAdmin(admin.ModelAdmin):
    """Supervisors edit the plans; a change applies to mishaps resolved after it.
    A severity without a plan follows the code's default (translated, see
    recovery.followup_defaults) until one is added here or in the console."""

    list_display = ("severity", "updated_at", "updated_by")
    form = PlanForm
    inlines = (PlanStepInline,)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ("updated_by",) if obj is None else ("severity", "updated_by")

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Adding a severity's plan changes it from the default: the service's
        # permission, as for any other change.
        missing = FollowUpPlan.objects.count() < len(Severity.values)
        return missing and self.has_change_permission(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        """Nothing to save on the plan itself (its severity is read-only): the
        steps and who changed them are saved by the service, in save_related."""

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        user = request.user
        assert isinstance(user, User)  # noqa: S101 - the admin requires a signed-in user
        plan = followup_plan_set(
            severity=form.instance.severity,
            actor=user,
            steps=[step for formset in formsets for step in steps_of(formset.forms)],
        )
        # Adding, the admin logs and shows the plan the service created.
        form.instance.pk = plan.pk
        form.instance.updated_at = plan.updated_at
        form.instance.updated_by = plan.updated_by

    def construct_change_message(
        self, request: HttpRequest, form: Any, formsets: Any, add: bool = False
    ) -> list[dict[str, Any]]:
        # The formsets were not saved (the service replaced the steps), so they
        # carry no per-object record; the plan's own change row has the detail.
        return [{"changed": {"fields": ["steps"]}}]


@admin.register(FollowUpPlanChange)
class FollowUpPlanChangeAdmin(ReadOnlyAdmin):
    list_display = ("changed_at", "plan", "changed_by")
    list_select_related = ("plan", "changed_by")


@admin.register(FollowUp)
class FollowUpAdmin(ReadOnlyAdmin):
    list_display = ("ticket", "step_number", "due_at", "status", "attempts", "sent_at")
    list_filter = ("status",)
    list_select_related = ("ticket",)


@admin.register(Feedback)
class FeedbackAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "ticket", "customer", "rating")
    list_filter = ("rating",)
    list_select_related = ("ticket", "customer")
