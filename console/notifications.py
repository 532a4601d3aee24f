"""The signed-in person's notifications: their inbox (newest first, unread
marked, read one or all) and what they are told, and how, per kind."""

from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import path, reverse
from django.views.decorators.http import require_POST

from console.access import signed_in
from console.sites import console_site
from tickets.models import NotificationKind
from tickets.selectors import notifications_of, preferences_of
from tickets.services.notifications import (
    notification_mark_read,
    notification_preferences_set,
    notifications_mark_all_read,
)

PER_PAGE = 30


def inbox_view(request: HttpRequest) -> HttpResponse:
    user = signed_in(request)
    unread = request.GET.get("show") == "unread"
    page = Paginator(notifications_of(user, unread=unread), PER_PAGE).get_page(request.GET.get("p"))
    return console_site.render(
        request,
        "console/notifications.html",
        {
            "title": "Notifications",
            "page": page,
            "notifications": list(page.object_list),
            "unread_only": unread,
        },
    )


@require_POST
def read_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark one read and open its ticket (the inbox's link), or stay."""
    user = signed_in(request)
    notification = notifications_of(user).filter(pk=pk).first()
    if notification is None:
        raise Http404("No such notification of yours.")
    notification_mark_read(notification=notification)
    if request.POST.get("then") == "open":
        return HttpResponseRedirect(
            reverse("console:tickets_ticket_change", args=[notification.ticket_id])
        )
    return HttpResponseRedirect(reverse("console:notifications"))


@require_POST
def read_all_view(request: HttpRequest) -> HttpResponse:
    count = notifications_mark_all_read(user=signed_in(request))
    messages.success(request, f"Marked {count} read." if count else "Nothing was unread.")
    return HttpResponseRedirect(reverse("console:notifications"))


def settings_view(request: HttpRequest) -> HttpResponse:
    user = signed_in(request)
    if request.method == "POST":
        chosen = {
            kind: (f"{kind}-in_app" in request.POST, f"{kind}-email" in request.POST)
            for kind in NotificationKind.values
        }
        notification_preferences_set(user=user, choices=chosen)
        messages.success(request, "Saved: you will be told as chosen below.")
        return HttpResponseRedirect(reverse("console:notification_settings"))
    current = preferences_of(user)
    rows: list[dict[str, Any]] = [
        {"kind": kind, "label": label, "in_app": current[kind][0], "email": current[kind][1]}
        for kind, label in NotificationKind.choices
    ]
    return console_site.render(
        request,
        "console/notification_settings.html",
        {"title": "What you are told", "rows": rows, "has_email": bool(user.email)},
    )


def urls(site: Any) -> list[Any]:
    view = site.admin_view
    return [
        path("notifications/", view(inbox_view), name="notifications"),
        path("notifications/read-all/", view(read_all_view), name="notifications_read_all"),
        path("notifications/<int:pk>/read/", view(read_view), name="notification_read"),
        path("notifications/settings/", view(settings_view), name="notification_settings"),
    ]
