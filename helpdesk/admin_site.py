"""Django's admin at /admin/, for the admin role only.

Agents and supervisors are staff accounts (the console, itself an admin site,
needs ``is_staff``), and Django's stock admin lets in anyone with
``is_staff``: they would read every queue's tickets there, past the queue
visibility the API and the console enforce. Everything they do lives in the
console; this site answers them with its login page and no data.
"""

from typing import Any

from django.contrib.admin import AdminSite
from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.exceptions import ValidationError
from django.http import HttpRequest

from accounts.roles import Role


def is_desk_admin(user: Any) -> bool:
    """Admins (the role) and superusers, while active staff."""
    if not (user.is_active and user.is_staff):
        return False
    return bool(user.is_superuser or getattr(user, "role", None) == Role.ADMIN)


class AdminOnlyAuthenticationForm(AdminAuthenticationForm):
    """The admin's sign-in refuses agents and supervisors with a pointer to
    where they work, instead of signing them in to a site that shows them
    nothing."""

    def confirm_login_allowed(self, user: Any) -> None:
        super().confirm_login_allowed(user)
        if not is_desk_admin(user):
            raise ValidationError(
                "This sign-in is for admins. Agents and supervisors sign in to the "
                "console, at /console/.",
                code="not_admin",
            )


class DeskAdminSite(AdminSite):
    site_header = "Recovery desk administration"
    site_title = "Recovery desk administration"
    login_form = AdminOnlyAuthenticationForm

    def has_permission(self, request: HttpRequest) -> bool:
        return is_desk_admin(request.user)
