"""The supervisor's approvals queue: restitutions above an agent's authority,
oldest first, with what it takes to decide (the customer's loss and the
guidance, the limits exceeded, what the agent has left), and the requests
decided lately. Each decision is one call to ``approval_decide``."""

from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from accounts.models import User
from console.access import require
from console.forms import apply_service
from recovery.models import ApprovalRequest
from recovery.models.authority import limit_label
from recovery.selectors import DECIDED, Remaining, approval_list, authority_remaining_many
from recovery.services import approval_decide
from recovery.services.restitutions import Guidance, guidance_for

PERMISSION = "recovery.decide_approvalrequest"
PER_PAGE = 25
NOTE = forms.Textarea(attrs={"rows": 2, "cols": 40})

Status = ApprovalRequest.Status
TABS: dict[str, tuple[str, tuple[str, ...]]] = {
    "pending": ("Waiting", (Status.PENDING,)),
    "decided": ("All decided", DECIDED),
    "approved": ("Approved", (Status.APPROVED,)),
    "rejected": ("Rejected", (Status.REJECTED,)),
}


class ApproveForm(forms.Form):
    note = forms.CharField(
        widget=NOTE, required=False, max_length=2_000, help_text="Optional; the agent reads it."
    )


class RejectForm(forms.Form):
    reason = forms.CharField(
        widget=NOTE,
        max_length=2_000,
        error_messages={"required": "Say why you reject it: the agent reads the reason."},
        help_text="Required; the agent reads it.",
    )


DECISIONS: dict[str, type[forms.Form]] = {"approve": ApproveForm, "reject": RejectForm}


@dataclass
class Row:
    approval: ApprovalRequest
    limits: list[str]
    guidance: Guidance | None
    loss_percent: int | None
    remaining: Remaining | None
    own: bool
    decision_forms: dict[str, forms.Form] = field(default_factory=dict)


def _bind(decision: str, pk: int, data: Any = None) -> forms.Form:
    # Field names stay plain (note, reason); only the ids differ per row.
    return DECISIONS[decision](data, auto_id=f"id_{decision}_{pk}_%s")


def _row(approval: ApprovalRequest, *, actor: User, remaining: dict[int, Remaining]) -> Row:
    restitution = approval.restitution
    loss = restitution.customer_loss
    agents = remaining.get(approval.requested_by_id)
    # Named with the agent's period where it is known (the pending tab).
    period = agents.policy.period if agents is not None else None
    return Row(
        approval=approval,
        limits=[limit_label(name, period) for name in approval.limits_exceeded],
        guidance=guidance_for(amount=restitution.amount, loss=loss, currency=restitution.currency),
        loss_percent=(int((restitution.amount * 100 / loss).to_integral_value()) if loss else None),
        remaining=agents,
        own=approval.requested_by_id == actor.pk,
        decision_forms={name: _bind(name, approval.pk) for name in DECISIONS}
        if approval.status == Status.PENDING
        else {},
    )


def _queue(
    request: HttpRequest,
    *,
    failed: tuple[ApprovalRequest, str, forms.Form] | None = None,
    status: int = 200,
) -> HttpResponse:
    from console.sites import console_site

    actor = require(request, PERMISSION)
    tab = request.GET.get("status", "pending")
    if tab not in TABS:
        tab = "pending"
    page = Paginator(approval_list(status=TABS[tab][1]), PER_PAGE).get_page(request.GET.get("p"))
    approvals: list[ApprovalRequest] = list(page.object_list)
    remaining: dict[int, Remaining] = {}
    if tab == "pending":
        # The agents' authority left, and the supervisor's own (approving charges it).
        remaining = authority_remaining_many([a.requested_by for a in approvals] + [actor])
    rows = [_row(a, actor=actor, remaining=remaining) for a in approvals]
    if failed is not None:
        for row in rows:
            if row.approval.pk == failed[0].pk:
                row.decision_forms[failed[1]] = failed[2]
    context = {
        **console_site.each_context(request),
        "title": "Approvals",
        "tab": tab,
        "tabs": [{"key": key, "label": label} for key, (label, _) in TABS.items()],
        "page": page,
        "rows": rows,
        "mine": remaining.get(actor.pk),
        "failed": failed and {"approval": failed[0], "decision": failed[1], "form": failed[2]},
    }
    return TemplateResponse(request, "console/approvals.html", context, status=status)


def approvals_view(request: HttpRequest) -> HttpResponse:
    return _queue(request)


def decide_view(request: HttpRequest, pk: int, decision: str) -> HttpResponse:
    actor = require(request, PERMISSION)
    if decision not in DECISIONS:
        raise Http404("Approve or reject, nothing else.")
    back = reverse("console:approvals")
    if request.GET.get("p"):
        back += f"?p={request.GET['p']}"
    if request.method != "POST":
        return HttpResponseRedirect(back)
    approval = ApprovalRequest.objects.select_related("restitution__ticket").filter(pk=pk).first()
    if approval is None:
        raise Http404("No such approval request.")
    form = _bind(decision, pk, request.POST)
    if form.is_valid():
        approve = decision == "approve"
        reason = form.cleaned_data["note" if approve else "reason"]
        done = apply_service(
            form,
            lambda: approval_decide(approval=approval, actor=actor, approve=approve, reason=reason),
        )
        if done is not None:
            restitution = approval.restitution
            what = (
                f"{restitution.get_kind_display()} of {restitution.amount} "
                f"{restitution.currency} on {restitution.ticket.reference}"
            )
            if approve:
                messages.success(request, f"Approved: {what}, charged to your authority.")
            else:
                messages.success(request, f"Rejected: {what}. The agent is told why.")
            return HttpResponseRedirect(back)
    return _queue(request, failed=(approval, decision, form), status=400)


def urls(site: Any) -> list[Any]:
    view = site.admin_view
    return [
        path("approvals/", view(approvals_view), name="approvals"),
        path("approvals/<int:pk>/<str:decision>/", view(decide_view), name="approval_decide"),
    ]
