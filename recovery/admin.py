from django.contrib import admin

from recovery.models import ProcessFix


@admin.register(ProcessFix)
class ProcessFixAdmin(admin.ModelAdmin):
    """Read-only here: fixes change through their services (the console)."""

    list_display = ("title", "status", "owner", "created_at")
    list_filter = ("status",)
    list_select_related = ("owner",)
    search_fields = ("title", "root_cause")

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: object, obj: object = None) -> bool:
        return False
