"""Tickets in the console: the queue (``console.ticket_queue``), the ticket
page (``console.ticket_page``) and its actions, the step forms of the
transitions, replies and restitutions (``console.ticket_steps``). Each POST
calls one service; the page adds no rule of its own."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.urls import path

from console.sites import console_site
from console.ticket_queue import TicketQueue
from console.ticket_steps import TicketSteps
from tickets.models import Ticket


@admin.register(Ticket, site=console_site)
class TicketConsole(TicketQueue, TicketSteps):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("tickets.add_ticket")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm("tickets.view_ticket")

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # tickets are history; they close, they are never deleted

    # --- urls ----------------------------------------------------------------

    def get_urls(self) -> list[Any]:
        view = self.admin_site.admin_view
        return [
            path("<int:pk>/step/<str:name>/", view(self.step_view), name="ticket_step"),
            path("<int:pk>/reply/", view(self.reply_view), name="ticket_reply"),
            path("<int:pk>/edit/", view(self.edit_view), name="ticket_edit"),
            path("<int:pk>/make-mishap/", view(self.make_mishap_view), name="ticket_make_mishap"),
            path(
                "<int:pk>/attachments/<int:attachment_id>/",
                view(self.attachment_view),
                name="ticket_attachment",
            ),
            path("<int:pk>/restitution/", view(self.restitution_view), name="ticket_restitution"),
            *super().get_urls(),
        ]
