"""Reads of staff and customers, each with the joins its callers need."""

from django.db.models import QuerySet

from accounts.models import Customer, User
from accounts.roles import Role


def staff_list(*, role: Role | None = None) -> QuerySet[User]:
    """Active staff, with groups prefetched so ``user.role`` costs no query."""
    users = User.objects.filter(is_staff=True, is_active=True).prefetch_related("groups")
    if role is not None:
        users = users.filter(groups__name=role.value)
    return users.order_by("username", "id")


def customer_get_by_email(*, email: str) -> Customer | None:
    return Customer.objects.filter(email__iexact=email.strip()).first()
