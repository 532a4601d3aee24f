"""Django's ModelBackend, with fewer queries per request.

Every console page and API call asks for the caller's permissions, and the
console reads their role. Django's backend reads a user's own permissions and
their groups' permissions in two queries, and ``User.role`` reads the groups
each time it is asked. Here a signed-in user comes with their groups (one
query, then every ``role`` read is free), and permissions are one query.
"""

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Permission
from django.db.models import Q

from accounts.models import User


class StaffBackend(ModelBackend):
    def get_user(self, user_id: Any) -> User | None:
        user = User._default_manager.prefetch_related("groups").filter(pk=user_id).first()
        return user if user is not None and self.user_can_authenticate(user) else None

    def get_all_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if not hasattr(user_obj, "_perm_cache"):
            permissions = Permission.objects.all()
            if not user_obj.is_superuser:
                # Granted to the user, or to any of their groups: one query
                # where Django's backend makes two.
                permissions = permissions.filter(Q(user=user_obj) | Q(group__user=user_obj))
            user_obj._perm_cache = {
                f"{app_label}.{codename}"
                for app_label, codename in permissions.values_list(
                    "content_type__app_label", "codename"
                )
                .order_by()
                .distinct()
            }
        return set(user_obj._perm_cache)
