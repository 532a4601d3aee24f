"""Reads of staff and customers, each with the joins its callers need."""

from django.db.models import QuerySet, Value
from django.db.models.functions import Lower

from accounts.models import Customer, User
from accounts.roles import Role


def staff_list(*, role: Role | None = None) -> QuerySet[User]:
    """Active staff, with groups prefetched so ``user.role`` costs no query."""
    users = User.objects.filter(is_staff=True, is_active=True).prefetch_related("groups")
    if role is not None:
        users = users.filter(groups__name=role.value)
    return users.order_by("username", "id")


def customers_with_email(email: str) -> QuerySet[Customer]:
    """The customer with this address whatever its case (one at most), found
    through the unique index on lower(email): ``email__iexact`` compares
    upper() of both sides, which no index has, and reads the whole table."""
    return Customer.objects.alias(email_lower=Lower("email")).filter(
        email_lower=Lower(Value(email))
    )
