"""Django's ModelBackend, with fewer queries per request.

Every console page and API call asks for the caller's permissions, and the
console reads their role. Django's backend reads a user's own permissions and
their groups' permissions in two queries, and ``User.role`` reads the groups
each time it is asked. Here the caller is read with their groups and their
permissions in one query (``staff_with_access``), by session or by token;
other apps may add what every page shows about them (an unread count) to
the same query.
"""

from collections.abc import Callable
from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission
from django.db.models import OuterRef, Q, QuerySet, Value
from django.db.models.functions import Concat

from accounts.models import User
from core.compiled import CompiledQuery
from core.inline import JSONRows, inline

_PERMISSIONS = "access_permissions"
_GROUP_PERMISSIONS = "access_group_permissions"
_annotations: dict[str, Callable[[], Any]] = {}
_relations: set[str] = set()


def read_with_staff(relation: str) -> None:
    """Read the one-to-one ``relation`` (a name on ``User``) with every
    caller, signed in or by token: what most requests of theirs consult."""
    _relations.add(relation)
    _CALLER.forget()


def annotate_signed_in_staff(name: str, build: Callable[[], Any]) -> None:
    """Read ``name`` (``build()``, an expression on the user row) with the
    user signed in to the console on every page, instead of in a query of
    its own (an API token's caller does without)."""
    _annotations[name] = build
    _CALLER.forget()


def _caller(shape: tuple[bool, str], *, value: int | str) -> QuerySet[User]:
    """The caller by their id or their API token (``shape``: for the
    console, and by ``pk`` or ``token``), with their groups, their
    permissions (their own grants or their groups'), the relations
    registered, and for the console what it registered."""
    console, by = shape
    users = User._default_manager.filter(**{"pk" if by == "pk" else "auth_token__key": value})
    # Their own grants and their groups' apart, each a walk down an index
    # from the user: one subquery with OR joined every permission to every
    # grant first (a millisecond to plan and one to run, on every request).
    name = Concat("content_type__app_label", Value("."), "codename")
    granted = Permission.objects.order_by()
    return (
        inline(users.select_related(*sorted(_relations)), groups=Group.objects.order_by("name"))
        .annotate(
            **{
                _PERMISSIONS: JSONRows(granted.filter(user=OuterRef("pk")), row=name),
                _GROUP_PERMISSIONS: JSONRows(granted.filter(group__user=OuterRef("pk")), row=name),
            },
            **{name: build() for name, build in _annotations.items() if console},
        )
        .order_by("pk")[:1]
    )


# Every request reads its caller: the query is built and compiled once a
# process (``core.compiled``); built afresh, its subqueries cost more CPU
# than running it.
_CALLER = CompiledQuery(build=_caller)


def staff_with_access(
    *, pk: int | None = None, token: str | None = None, console: bool = False
) -> User | None:
    """The user of id ``pk``, or of the API ``token``, with their groups,
    their permissions and the relations registered, and for the ``console``
    what it registered, in one query; None when there is none."""
    by: str
    value: int | str
    if pk is not None and token is None:
        by, value = "pk", pk
    elif token is not None and pk is None:
        by, value = "token", token
    else:
        raise TypeError("staff_with_access takes a pk or a token.")
    found = _CALLER.rows((console, by), value=value)
    user: Any = found[0] if found else None
    if user is not None:
        user._read_with_access = frozenset(_relations)
        permissions = {*vars(user).pop(_PERMISSIONS), *vars(user).pop(_GROUP_PERMISSIONS)}
        if not user.is_superuser:  # a superuser's are every permission: read when asked
            user._perm_cache = permissions
    return user


def read_with_access(user: User, relation: str) -> bool:
    """Whether ``user`` came from ``staff_with_access`` with ``relation``: a
    copy of it as it stood when the request began, which the request's own
    reads may trust (a user whose row a service just changed has none)."""
    return relation in getattr(user, "_read_with_access", ())


class StaffBackend(ModelBackend):
    def get_user(self, user_id: Any) -> User | None:
        try:
            pk = int(user_id)
        except (TypeError, ValueError):  # a session from elsewhere, or tampered with
            return None
        user = staff_with_access(pk=pk, console=True)
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
