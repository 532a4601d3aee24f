"""Process fixes in the console: the list, a form to propose one (calls
``process_fix_create``) and the buttons that move one on (call
``process_fix_set_status``)."""

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import path, reverse
from django.views.decorators.http import require_POST

from console import selectors
from console.access import require
from console.forms import ProcessFixForm, apply_service
from console.sites import console_site
from core.errors import DomainError
from recovery.models import ProcessFix
from recovery.services import process_fix_create, process_fix_set_status
from recovery.services.process_fixes import process_fix_next_statuses
from tickets.selectors import tickets_visible_to

PER_PAGE = 25
VIEW = "recovery.view_processfix"
ADD = "recovery.add_processfix"
CHANGE = "recovery.change_processfix"
BUTTONS = {
    ProcessFix.Status.IN_PROGRESS: "Start",
    ProcessFix.Status.DONE: "Mark done",
    ProcessFix.Status.DROPPED: "Drop",
}


def _list_url(request: HttpRequest) -> str:
    status = request.GET.get("status") or request.POST.get("back_status") or ""
    url = reverse("console:process_fixes")
    return f"{url}?status={status}" if status in ProcessFix.Status.values else url


def process_fix_list_view(request: HttpRequest) -> HttpResponse:
    user = require(request, VIEW)
    status = request.GET.get("status", "")
    if status not in ProcessFix.Status.values:
        status = ""
    can_add = user.has_perm(ADD)
    form = None
    if can_add:
        form = ProcessFixForm(
            request.POST if request.method == "POST" else None,
            visible_tickets=tickets_visible_to(user),
            # From a repeat failure's guidance: the tickets that showed the need.
            initial={"tickets": request.GET.get("tickets", "")[:500]},
        )
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            fix = apply_service(
                form,
                lambda: process_fix_create(
                    actor=user,
                    title=data["title"],
                    root_cause=data["root_cause"],
                    failsafe_change=data["failsafe_change"],
                    owner=data["owner"],
                    tickets=data["tickets"],
                ),
            )
            if fix is not None:
                messages.success(request, f"Process fix proposed: {fix.title}.")
                return HttpResponseRedirect(reverse("console:process_fixes"))
    elif request.method == "POST":
        raise PermissionDenied
    page = Paginator(selectors.process_fix_list(status=status or None), PER_PAGE).get_page(
        request.GET.get("p")
    )
    can_change_any = user.has_perm(CHANGE)
    fixes = [
        {
            "fix": fix,
            # The service lets the owner move their own fix on, and supervisors any fix.
            "next": [
                {"status": s.value, "label": BUTTONS[s]}
                for s in process_fix_next_statuses(fix.status)
            ]
            if can_change_any or fix.owner_id == user.pk
            else [],
        }
        for fix in page.object_list
    ]
    return console_site.render(
        request,
        "console/process_fixes.html",
        {
            "title": "Process fixes",
            "status": status,
            "statuses": ProcessFix.Status.choices,
            "page": page,
            "fixes": fixes,
            "form": form,
        },
        status=400 if request.method == "POST" else 200,
    )


@require_POST
def process_fix_status_view(request: HttpRequest, pk: int) -> HttpResponse:
    user = require(request, VIEW)
    try:
        fix = ProcessFix.objects.get(pk=pk)
    except ProcessFix.DoesNotExist:
        raise Http404("No such process fix.") from None
    status = request.POST.get("status", "")
    try:
        done = process_fix_set_status(fix=fix, actor=user, status=status)
    except DomainError as error:
        messages.error(request, error.detail)
    else:
        messages.success(request, f"{done.title}: {done.get_status_display().lower()}.")
    return HttpResponseRedirect(_list_url(request))


def urls(site: Any) -> list[Any]:
    return [
        path("process-fixes/", site.admin_view(process_fix_list_view), name="process_fixes"),
        path(
            "process-fixes/<int:pk>/status/",
            site.admin_view(process_fix_status_view),
            name="process_fix_status",
        ),
    ]
