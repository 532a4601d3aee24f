from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from core.admin import ReadOnlyAdmin
from outbox.models import OutboxItem
from outbox.services import outbox_retry


@admin.register(OutboxItem)
class OutboxItemAdmin(ReadOnlyAdmin):
    """Every outgoing email and webhook, where it stands and what went wrong;
    a failed or cancelled row can be sent again."""

    list_display = (
        "id",
        "kind",
        "reference",
        "recipient",
        "status",
        "attempts",
        "due_at",
        "sent_at",
        "short_error",
    )
    list_filter = ("status", "kind", "source")
    search_fields = ("reference", "recipient", "message_id")
    date_hierarchy = "created_at"
    ordering = ("-created_at", "-id")
    actions = ("retry",)
    list_per_page = 50
    show_full_result_count = False

    @admin.display(description="Last error")
    def short_error(self, item: OutboxItem) -> str:
        return item.last_error[:120]

    def has_retry_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm("outbox.change_outboxitem"))

    @admin.action(
        description="Send the selected failed or cancelled rows again",
        permissions=["retry"],
    )
    def retry(self, request: HttpRequest, queryset: QuerySet[OutboxItem]) -> None:
        retried = 0
        again = [OutboxItem.Status.FAILED, OutboxItem.Status.CANCELLED]
        for item in queryset.filter(status__in=again):
            outbox_retry(item=item)
            retried += 1
        skipped = queryset.count() - retried
        if retried:
            self.message_user(request, f"{retried} row(s) will be sent again.", messages.SUCCESS)
        if skipped:
            self.message_user(
                request,
                f"{skipped} row(s) were not failed or cancelled and were left as they are.",
                messages.WARNING,
            )
