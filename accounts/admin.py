from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from accounts.models import Customer, StaffChange, User
from core.admin import ReadOnlyAdmin


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    fieldsets = (*(DjangoUserAdmin.fieldsets or ()), ("Preferences", {"fields": ("time_zone",)}))
    list_display = ("username", "email", "first_name", "last_name", "is_staff", "is_active")


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ("name", "email", "time_zone", "locale", "created_at")
    search_fields = ("name", "email")
    list_filter = ("locale",)


@admin.register(StaffChange)
class StaffChangeAdmin(ReadOnlyAdmin):
    """Read-only: the audit trail is append-only."""

    list_display = ("created_at", "user", "actor", "action")
    list_select_related = ("user", "actor")
    list_filter = ("action",)
