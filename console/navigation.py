"""The console's top menu, by what the signed-in user may see."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, OuterRef, QuerySet, Subquery, Value
from django.http import HttpRequest
from django.urls import reverse

from accounts.models import User

# The menu's counts ride in the signed-in user's own query (``register``):
# a page shows them at no query of its own.
PENDING_APPROVALS = "console_pending_approvals"
UNREAD_NOTIFICATIONS = "console_unread_notifications"


def register() -> None:
    from accounts.backends import annotate_signed_in_staff
    from recovery.selectors import approvals_pending
    from tickets.selectors import unread_notifications_of

    annotate_signed_in_staff(PENDING_APPROVALS, lambda: _count(approvals_pending()))
    annotate_signed_in_staff(
        UNREAD_NOTIFICATIONS, lambda: _count(unread_notifications_of(OuterRef("pk")))
    )


def _count(rows: QuerySet[Any]) -> Subquery:
    """How many ``rows``, as a subquery: ``SELECT COUNT(id) ... WHERE ...``,
    0 when there are none. Grouped by a constant, which Django leaves out of
    the GROUP BY, so the count is over all the rows rather than one each."""
    return Subquery(
        rows.order_by().annotate(all=Value(1)).values("all").annotate(n=Count("pk")).values("n")
    )


def _pending_approvals(user: User) -> int:
    from recovery.selectors import approvals_pending

    known = getattr(user, PENDING_APPROVALS, None)
    return known if known is not None else approvals_pending().count()


def _unread_notifications(user: User) -> int:
    from tickets.selectors import unread_notifications_of

    known = getattr(user, UNREAD_NOTIFICATIONS, None)
    return known if known is not None else unread_notifications_of(user).count()


def notifications_read(user: User, count: int) -> None:
    """The page just marked ``count`` of the user's notifications read: the
    menu's count, read with the user before that, says so too."""
    known = getattr(user, UNREAD_NOTIFICATIONS, None)
    if known is not None:
        setattr(user, UNREAD_NOTIFICATIONS, max(0, known - count))


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
