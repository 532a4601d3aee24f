"""The console's top menu, by what the signed-in user may see."""

from collections.abc import Callable
from dataclasses import dataclass

from django.http import HttpRequest
from django.urls import reverse

from accounts.models import User


def _pending_approvals(user: User) -> int:
    from recovery.selectors import approvals_pending_count

    return approvals_pending_count()


def _unread_notifications(user: User) -> int:
    from tickets.selectors import unread_notifications_count

    return unread_notifications_count(user)


@dataclass(frozen=True)
class MenuItem:
    label: str
    url_name: str
    permission: str
    # A number shown with the label (one cheap query), asked only of users who see the item.
    count: Callable[[User], int] | None = None

    @property
    def url(self) -> str:
        return reverse(self.url_name)


MENU = (
    MenuItem("Queue", "console:tickets_ticket_changelist", "tickets.view_ticket"),
    MenuItem("New ticket", "console:tickets_ticket_add", "tickets.add_ticket"),
    MenuItem("Customers", "console:customers", "accounts.view_customer"),
    MenuItem(
        "Approvals", "console:approvals", "recovery.decide_approvalrequest", _pending_approvals
    ),
    MenuItem("Authority", "console:authority", "recovery.change_authoritypolicy"),
    MenuItem("Process fixes", "console:process_fixes", "recovery.view_processfix"),
    MenuItem("Follow-up plans", "console:followup_plans", "recovery.change_followupplan"),
    MenuItem("Saved replies", "console:saved_replies", "tickets.change_savedreply"),
    MenuItem("Trust dashboard", "console:dashboard", "recovery.view_trust_dashboard"),
    MenuItem(
        "Notifications", "console:notifications", "tickets.view_ticket", _unread_notifications
    ),
)


def menu_for(request: HttpRequest) -> list[dict[str, object]]:
    path = request.path
    items = []
    for item in MENU:
        if not request.user.has_perm(item.permission):
            continue
        url = item.url
        label = item.label
        if item.count is not None and (count := item.count(request.user)):  # type: ignore[arg-type]
            label = f"{label} ({count})"
        items.append({"label": label, "url": url, "current": path.startswith(url)})
    return items
