"""Authority policies in the console: every active member of staff with the
limits that apply to them and what is left this period, and one person's
page to change their limits (one call to ``authority_policy_set``) with the
history of every change."""

from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.core.validators import RegexValidator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import path, reverse

from accounts.models import User
from accounts.roles import Role
from accounts.selectors import staff_list
from console.access import require
from console.forms import apply_service
from console.sites import console_site
from recovery.models import AuthorityPolicyChange, Period, RestitutionKind
from recovery.selectors import Policy, Remaining, authority_history, authority_remaining_many
from recovery.services import authority_policy_set
from recovery.services.authority import policy_setter_refusal

PERMISSION = "recovery.change_authoritypolicy"
STAFF_PER_PAGE = 50
HISTORY_PER_PAGE = 20

KIND_LABELS = dict(RestitutionKind.choices)
FIELD_LABELS = {
    "per_incident_limit": "Per incident",
    "per_period_limit": "Per period",
    "period": "Period",
    "per_customer_limit": "Per customer",
    "allowed_kinds": "Allowed kinds",
    "currency": "Currency",
    "is_default": "Source",
}


def _limit(label: str, help_text: str) -> forms.DecimalField:
    return forms.DecimalField(
        label=label,
        help_text=help_text,
        max_digits=12,
        decimal_places=2,
        min_value=0,
        error_messages={
            "invalid": "Enter an amount, such as 50.00.",
            "min_value": "A limit cannot be negative.",
            "max_digits": "A limit must be below 10,000,000,000.",
            "max_whole_digits": "A limit must be below 10,000,000,000.",
            "max_decimal_places": "An amount has at most 2 decimal places.",
        },
    )


class PolicyForm(forms.Form):
    """The shape of a policy; the rules (currency precision, who may set
    whose limits) are ``authority_policy_set``'s."""

    per_incident_limit = _limit("Per incident", "The most granted in all on one ticket.")
    per_period_limit = _limit("Per period", "The most this person grants in one period.")
    period = forms.ChoiceField(
        choices=Period.choices,
        help_text="Day, week (from Monday) or month, in the deployment's time zone.",
    )
    per_customer_limit = _limit("Per customer", "The most granted to one customer in one period.")
    allowed_kinds = forms.MultipleChoiceField(
        choices=RestitutionKind.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        label="Allowed kinds",
        help_text="None ticked: this person grants nothing on their own.",
        error_messages={"invalid_choice": "%(value)s is not a kind of restitution."},
    )
    currency = forms.CharField(
        min_length=3,
        max_length=3,
        validators=[RegexValidator(r"^[A-Za-z]{3}$", "A three-letter ISO 4217 code, such as EUR.")],
        widget=forms.TextInput(attrs={"size": 4, "autocapitalize": "characters"}),
    )

    def clean_currency(self) -> str:
        return str(self.cleaned_data["currency"]).upper()

    @classmethod
    def initial_from(cls, policy: Policy) -> dict[str, Any]:
        return {
            "per_incident_limit": policy.per_incident_limit,
            "per_period_limit": policy.per_period_limit,
            "period": policy.period,
            "per_customer_limit": policy.per_customer_limit,
            "allowed_kinds": list(policy.allowed_kinds),
            "currency": policy.currency,
        }


@dataclass(frozen=True)
class Change:
    label: str
    before: str
    after: str


def _shown(name: str, value: Any) -> str:
    if name == "allowed_kinds":
        return ", ".join(str(KIND_LABELS.get(kind, kind)) for kind in value) or "none"
    if name == "is_default":
        return "the role's defaults" if value else "own policy"
    if name == "period":
        return str(Period(value).label).lower() if value in Period.values else str(value)
    return str(value)


def changes_of(change: AuthorityPolicyChange) -> list[Change]:
    """What one recorded change changed, field by field."""
    old, new = change.old or {}, change.new or {}
    return [
        Change(label, _shown(name, old.get(name)), _shown(name, new.get(name)))
        for name, label in FIELD_LABELS.items()
        if old.get(name) != new.get(name)
    ]


ROLE_FILTERS = {"agent": Role.AGENT, "supervisor": Role.SUPERVISOR, "admin": Role.ADMIN}


def authority_list_view(request: HttpRequest) -> HttpResponse:
    require(request, PERMISSION)
    role = ROLE_FILTERS.get(request.GET.get("role", ""))
    page = Paginator(staff_list(role=role), STAFF_PER_PAGE).get_page(request.GET.get("p"))
    people: list[User] = list(page.object_list)
    remaining: dict[int, Remaining] = authority_remaining_many(people)
    rows = [
        {
            "person": person,
            "role": person.role,
            "remaining": remaining[person.pk],
            "kinds": [KIND_LABELS[k] for k in remaining[person.pk].policy.allowed_kinds],
        }
        for person in people
    ]
    return console_site.render(
        request,
        "console/authority.html",
        {
            "title": "Authority",
            "rows": rows,
            "page": page,
            "role": role.value if role else "",
            "roles": [{"key": key, "label": r.label} for key, r in ROLE_FILTERS.items()],
            "query": f"role={role.value}&" if role else "",
        },
    )


def authority_edit_view(request: HttpRequest, user_id: int) -> HttpResponse:
    actor = require(request, PERMISSION)
    person = User.objects.filter(is_staff=True, pk=user_id).prefetch_related("groups").first()
    if person is None:
        raise Http404("No member of staff with that number.")
    remaining = authority_remaining_many([person])[person.pk]
    refusal = policy_setter_refusal(actor=actor, user=person)
    if request.method == "POST":
        form = PolicyForm(request.POST)
        if form.is_valid():
            done = apply_service(
                form,
                lambda: authority_policy_set(
                    user=person, actor=actor, values=dict(form.cleaned_data)
                ),
            )
            if done is not None:
                messages.success(
                    request, f"The authority of {person.get_full_name() or person} is saved."
                )
                return HttpResponseRedirect(reverse("console:authority_edit", args=[person.pk]))
    else:
        form = PolicyForm(initial=PolicyForm.initial_from(remaining.policy))
    history = Paginator(authority_history(user=person), HISTORY_PER_PAGE).get_page(
        request.GET.get("p")
    )
    return console_site.render(
        request,
        "console/authority_edit.html",
        {
            "title": f"Authority of {person.get_full_name() or person.username}",
            "person": person,
            "role": person.role,
            "remaining": remaining,
            "form": form,
            "refusal": refusal,
            "kinds": [KIND_LABELS.get(k, k) for k in remaining.policy.allowed_kinds],
            "page": history,
            "history": [
                {"change": change, "changes": changes_of(change)} for change in history.object_list
            ],
        },
        status=400 if request.method == "POST" else 200,
    )


def urls(site: Any) -> list[Any]:
    view = site.admin_view
    return [
        path("authority/", view(authority_list_view), name="authority"),
        path("authority/<int:user_id>/", view(authority_edit_view), name="authority_edit"),
    ]
