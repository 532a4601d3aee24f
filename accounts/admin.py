"""Staff accounts and customers in Django's admin (the admin role only).

A staff account is written only by ``staff_upsert``, as by ``create_staff``:
the role, the password and deactivation are validated and audited there
(``StaffChange``). Groups, permissions and the superuser flag are never
edited here: a role is a group whose permissions ``accounts.roles`` owns.
Customers are shown read-only; staff change them in the console.
"""

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.http import HttpRequest

from accounts.models import Customer, StaffChange, User
from accounts.roles import Role
from accounts.services import staff_upsert
from core.admin import ReadOnlyAdmin


class StaffChangeForm(forms.ModelForm):
    role = forms.ChoiceField(choices=Role.choices)
    email = forms.EmailField(max_length=254)
    password1 = forms.CharField(
        label="New password",
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        required=False,
        strip=False,
        help_text="Leave empty to keep the current one.",
    )
    password2 = forms.CharField(
        label="New password again",
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        required=False,
        strip=False,
    )

    class Meta:
        model = User
        fields = ("first_name", "last_name", "email", "is_active")

    # The signed-in admin's id, set by StaffAdmin.get_form.
    actor_id: int | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["role"].initial = self.instance.role

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean() or {}
        if cleaned.get("is_active") is False and self.instance.pk == self.actor_id:
            self.add_error("is_active", "Nobody deactivates their own account.")
        first, second = cleaned.get("password1"), cleaned.get("password2")
        if first or second:
            if first != second:
                self.add_error("password2", "The two passwords differ.")
            else:
                try:
                    validate_password(str(first), self.instance)
                except ValidationError as exc:
                    self.add_error("password1", exc)
        return cleaned


class StaffAddForm(StaffChangeForm):
    class Meta(StaffChangeForm.Meta):
        fields = ("username", "first_name", "last_name", "email")


@admin.register(User)
class StaffAdmin(admin.ModelAdmin):
    list_display = ("username", "email", "first_name", "last_name", "role", "is_active")
    list_filter = ("is_active", "groups")
    search_fields = ("username", "email", "first_name", "last_name")
    ordering = ("username",)
    add_fieldsets = (
        (None, {"fields": ("username", "role", "email", "first_name", "last_name")}),
        ("Password", {"fields": ("password1", "password2")}),
    )
    change_fieldsets = (
        (None, {"fields": ("username", "role", "email", "first_name", "last_name")}),
        ("Access", {"fields": ("is_active", "password1", "password2")}),
        (
            "Recorded",
            {"fields": ("time_zone", "is_superuser", "last_login", "date_joined")},
        ),
    )

    def get_queryset(self, request: HttpRequest) -> Any:
        return super().get_queryset(request).prefetch_related("groups")

    @admin.display(description="Role")
    def role(self, user: User) -> str:
        return user.role.label if user.role else "-"

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.add_fieldsets if obj is None else self.change_fieldsets

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return ()
        # Each person sets their own time zone (PATCH /api/v1/me/).
        return ("username", "time_zone", "is_superuser", "last_login", "date_joined")

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        base = StaffAddForm if obj is None else StaffChangeForm
        kwargs["form"] = type(base.__name__, (base,), {"actor_id": request.user.pk})
        return super().get_form(request, obj, change=change, **kwargs)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Their tickets, grants and audit rows name them: deactivate instead.
        return False

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        """One write path: ``staff_upsert``, audited with the admin as actor."""
        data = form.cleaned_data
        actor = request.user
        assert isinstance(actor, User)  # noqa: S101 - the admin requires a signed-in user
        # The form checked what the service will (passwords, deactivating
        # oneself), since an error raised here would come too late to show.
        result = staff_upsert(
            username=obj.username,
            role=Role(data["role"]),
            email=data["email"],
            first_name=data["first_name"],
            last_name=data["last_name"],
            password=data.get("password1") or None,
            is_active=data.get("is_active", True),
            actor=actor,
        )
        obj.pk = result.user.pk
        obj.refresh_from_db()

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        """Nothing more: the role (the only group) was set by ``staff_upsert``."""


@admin.register(Customer)
class CustomerAdmin(ReadOnlyAdmin):
    """Read-only: staff change customers through the console and the API."""

    list_display = ("name", "email", "time_zone", "locale", "created_at")
    search_fields = ("name", "email")
    list_filter = ("locale",)


@admin.register(StaffChange)
class StaffChangeAdmin(ReadOnlyAdmin):
    """Read-only: the audit trail is append-only."""

    list_display = ("created_at", "user", "actor", "action")
    list_select_related = ("user", "actor")
    list_filter = ("action",)


# A role's permissions are accounts.roles' to say: groups are shown, never edited.
admin.site.unregister(Group)


@admin.register(Group)
class RoleGroupAdmin(ReadOnlyAdmin):
    list_display = ("name",)
    filter_horizontal = ("permissions",)
