"""Saved queue views: each person names the view, filters, search and order
they come back to, and finds them above their queue."""

from typing import Any

from django.contrib import messages
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.http.request import QueryDict
from django.urls import path, reverse
from django.views.decorators.http import require_POST

from accounts.models import User
from console.access import signed_in
from console.models import SavedView
from core.errors import DomainError, RuleViolation
from tickets.services.messages import clean_text

# The queue's parameters a view keeps (its page is not one of them).
KEPT = (
    "show",
    "status__exact",
    "kind__exact",
    "severity__exact",
    "queue__id__exact",
    "q",
    "o",
)
MAX_VIEWS = 20


@transaction.atomic
def saved_view_save(*, user: User, name: str, query: str) -> SavedView:
    """Keep the queue's ``query`` under ``name`` (the same name again
    replaces it). Unknown parameters and the page are dropped."""
    name = clean_text(name, field="name", required=True, limit=60)
    given = QueryDict(query)
    kept = QueryDict(mutable=True)
    for key in KEPT:
        value = given.get(key, "")[:200]
        if value:
            kept[key] = value
    if len(kept.urlencode()) > SavedView._meta.get_field("query").max_length:  # type: ignore[operator]
        raise RuleViolation(
            "This view's search and filters are too long to save: shorten the search.",
            field="query",
        )
    if not kept:
        raise RuleViolation(
            "Choose a view, a filter or a search first: there is nothing to save.", field="query"
        )
    mine = SavedView.objects.select_for_update().filter(user=user)
    if not mine.filter(name=name).exists() and mine.count() >= MAX_VIEWS:
        raise RuleViolation(
            f"You have {MAX_VIEWS} saved views, the most there can be: delete one first.",
            field="name",
        )
    view, _ = SavedView.objects.update_or_create(
        user=user, name=name, defaults={"query": kept.urlencode()}
    )
    return view


def saved_view_delete(*, user: User, view_id: int) -> None:
    if not SavedView.objects.filter(user=user, pk=view_id).delete()[0]:
        raise Http404("No such saved view of yours.")


def _queue(query: str = "") -> str:
    url = reverse("console:tickets_ticket_changelist")
    return f"{url}?{query}" if query else url


@require_POST
def save_view(request: HttpRequest) -> HttpResponse:
    query = request.POST.get("query", "")
    try:
        view = saved_view_save(
            user=signed_in(request), name=request.POST.get("name", ""), query=query
        )
    except DomainError as refused:
        messages.error(request, f"The view was not saved: {refused}")
        return HttpResponseRedirect(_queue(query))
    messages.success(request, f"Saved the view “{view.name}”.")
    return HttpResponseRedirect(_queue(view.query))


@require_POST
def delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    saved_view_delete(user=signed_in(request), view_id=pk)
    messages.success(request, "Deleted the saved view.")
    return HttpResponseRedirect(_queue())


def urls(site: Any) -> list[Any]:
    view = site.admin_view
    return [
        path("queue/views/", view(save_view), name="saved_view_save"),
        path("queue/views/<int:pk>/delete/", view(delete_view), name="saved_view_delete"),
    ]
