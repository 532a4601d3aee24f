"""Django's admin (the admin role only) shows tickets read-only: every change
goes through the services (the API and the console), so the admin cannot skip
a step. Queues and timeliness targets are configuration, edited here through
their services."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from core.admin import ReadOnlyAdmin
from tickets.models import Alert, Message, Queue, SeverityTarget, Ticket, TicketEvent
from tickets.services import queue_create, queue_update, severity_target_set


class MessageInline(admin.TabularInline):
    model = Message
    fields = ("created_at", "author_kind", "author", "public", "step", "body", "delivery_status")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class EventInline(admin.TabularInline):
    model = TicketEvent
    fields = ("created_at", "actor", "action", "from_status", "to_status", "payload")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Ticket)
class TicketAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "subject",
        "kind",
        "severity",
        "status",
        "customer",
        "assignee",
        "created_at",
    )
    list_filter = ("status", "kind", "severity", "queue")
    list_select_related = ("customer", "assignee")
    search_fields = ("subject", "customer__email")
    inlines = (MessageInline, EventInline)


@admin.register(Alert)
class AlertAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "kind", "ticket", "sent_at", "attempts")
    list_filter = ("kind",)
    list_select_related = ("ticket",)


@admin.register(Queue)
class QueueAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "restrict_to_assignee")
    prepopulated_fields = {"slug": ("name",)}
    filter_horizontal = ("members",)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Tickets keep their queue: an unused queue is emptied of members instead.
        return False

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        """Written by the services, in save_related, once the members are known."""

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        data = form.cleaned_data
        fields = {
            "name": data["name"],
            "slug": data["slug"],
            "members": list(data["members"]),
            "restrict_to_assignee": data["restrict_to_assignee"],
        }
        queue = queue_update(queue=form.instance, **fields) if change else queue_create(**fields)
        form.instance.pk = queue.pk


@admin.register(SeverityTarget)
class SeverityTargetAdmin(admin.ModelAdmin):
    list_display = ("severity", "acknowledge_within", "apologize_within")
    # One row per severity, made by a migration: only its targets change.
    readonly_fields = ("severity",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        severity_target_set(
            target=obj,
            acknowledge_within=form.cleaned_data["acknowledge_within"],
            apologize_within=form.cleaned_data["apologize_within"],
        )
