"""The console's top menu, by what the signed-in user may see."""

from dataclasses import dataclass

from django.http import HttpRequest
from django.urls import reverse


@dataclass(frozen=True)
class MenuItem:
    label: str
    url_name: str
    permission: str

    @property
    def url(self) -> str:
        return reverse(self.url_name)


MENU = (
    MenuItem("Queue", "console:tickets_ticket_changelist", "tickets.view_ticket"),
    MenuItem("New ticket", "console:tickets_ticket_add", "tickets.add_ticket"),
    MenuItem("Customers", "console:customers", "accounts.view_customer"),
    MenuItem("Process fixes", "console:process_fixes", "recovery.view_processfix"),
    MenuItem("Follow-up plans", "console:followup_plans", "recovery.change_followupplan"),
    MenuItem("Trust dashboard", "console:dashboard", "recovery.view_trust_dashboard"),
)


def menu_for(request: HttpRequest) -> list[dict[str, object]]:
    path = request.path
    items = []
    for item in MENU:
        if not request.user.has_perm(item.permission):
            continue
        url = item.url
        items.append({"label": item.label, "url": url, "current": path.startswith(url)})
    return items
