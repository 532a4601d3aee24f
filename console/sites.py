"""The console: an admin site of its own for agents and supervisors, apart
from Django's superuser admin at /admin/. It reuses the admin's login,
templates, change lists and messages, so it looks and behaves the way Django
users expect; every change it makes goes through the domain services."""

from typing import Any

from django.contrib.admin import AdminSite
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse

from console.navigation import menu_for


class ConsoleSite(AdminSite):
    site_header = "Recovery desk"
    site_title = "Recovery desk"
    index_title = "Console"
    site_url = None
    enable_nav_sidebar = False

    def has_permission(self, request: HttpRequest) -> bool:
        """Staff with a role: agents, supervisors and admins (roles carry
        ``tickets.view_ticket``). Customers never log in."""
        user = request.user
        return bool(user.is_active and user.is_staff and user.has_perm("tickets.view_ticket"))

    def each_context(self, request: HttpRequest) -> dict[str, Any]:
        context = super().each_context(request)
        if self.has_permission(request):
            context["console_menu"] = menu_for(request)
        return context

    def render(
        self,
        request: HttpRequest,
        template: str,
        context: dict[str, Any],
        *,
        status: int = 200,
    ) -> TemplateResponse:
        """A console page: the site's header, menu and messages around ``context``."""
        return TemplateResponse(
            request, template, {**self.each_context(request), **context}, status=status
        )

    def get_urls(self) -> list[Any]:
        from console.pages import page_urls

        return [*page_urls(self), *super().get_urls()]

    # The stubs type index as a TemplateResponse; a redirect serves it as well.
    def index(  # type: ignore[override]
        self, request: HttpRequest, extra_context: Any = None
    ) -> HttpResponse:
        # An agent's home is the queue, not a list of models.
        return HttpResponseRedirect(reverse("console:tickets_ticket_changelist"))


console_site = ConsoleSite(name="console")
