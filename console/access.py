"""Who may open a console page. The site already requires a signed-in staff
member with a role (ConsoleSite.has_permission); each page then asks for the
permission it needs, and a missing one is the console's 403 page."""

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from accounts.models import User


def signed_in(request: HttpRequest) -> User:
    user = request.user
    if not isinstance(user, User):  # admin_view lets no anonymous visitor this far
        raise PermissionDenied
    return user


def require(request: HttpRequest, permission: str) -> User:
    """The signed-in user, if they hold ``permission``; else 403."""
    user = signed_in(request)
    if not user.has_perm(permission):
        raise PermissionDenied
    return user
