"""Bulk changes from the queue (admin actions): assign, move to a queue, or
change the severity of the selected tickets. A page asks for the new value;
then each ticket goes through ``ticket_update`` on its own, and each result
is reported: one refused (another's queue, say) does not stop the others."""

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from accounts.models import User
from console.access import signed_in
from console.selectors import queues_for_filing
from core.errors import DomainError
from core.forms import ListedModelChoiceField
from tickets import services
from tickets.models import Severity, Ticket

LABELS = {
    "assignee": ("Assign to", "Assigned"),
    "queue": ("Move to the queue", "Moved"),
    "severity": ("Change the severity to", "Changed the severity of"),
}


def _value_field(name: str, user: User) -> forms.Field:
    if name == "assignee":
        staff = User.objects.filter(is_active=True, is_staff=True).order_by("username")
        return ListedModelChoiceField(queryset=staff, required=False, empty_label="Nobody")
    if name == "queue":
        # The queues one may file into, as on the ticket's own form.
        queues = queues_for_filing(user)
        return ListedModelChoiceField(queryset=queues, required=False, empty_label="No queue")
    return forms.ChoiceField(choices=Severity.choices)


class BulkForm(forms.Form):
    def __init__(self, *args: Any, field: str, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["value"] = _value_field(field, user)
        self.fields["value"].label = LABELS[field][0]


def bulk_change(
    model_admin: Any, request: HttpRequest, queryset: QuerySet[Ticket], field: str
) -> HttpResponse | None:
    """The admin action: the value's page first; with ``apply``, the change."""
    applying = "apply" in request.POST
    form = BulkForm(request.POST if applying else None, field=field, user=signed_in(request))
    tickets = list(queryset.order_by("id"))
    if applying and form.is_valid():
        _apply(request, tickets, field, form.cleaned_data["value"])
        return None  # back to the queue, where the messages are
    return TemplateResponse(
        request,
        "console/bulk.html",
        {
            **model_admin.admin_site.each_context(request),
            "title": f"{LABELS[field][0]}: {len(tickets)} tickets",
            "tickets": tickets,
            "form": form,
            "action": request.POST.get("action", ""),
            "checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "opts": model_admin.model._meta,
        },
    )


def _apply(request: HttpRequest, tickets: list[Ticket], field: str, value: Any) -> None:
    actor = signed_in(request)
    done: list[str] = []
    for ticket in tickets:
        try:
            services.ticket_update(ticket=ticket, actor=actor, **{field: value})
        except DomainError as refused:
            messages.error(request, f"{ticket.reference} was not changed: {refused}")
            continue
        done.append(ticket.reference)
    if done:
        shown = (
            str(value) if value not in (None, "") else "nobody" if field == "assignee" else "none"
        )
        if field == "severity":
            shown = Severity(value).label.lower()
        messages.success(
            request,
            f"{LABELS[field][1]} {len(done)} ticket{'s' if len(done) != 1 else ''}"
            f" ({', '.join(done)}): {shown}.",
        )
