from typing import Any

import pytest
from django.contrib.auth.models import Permission

from accounts.backends import StaffBackend
from accounts.models import User
from accounts.roles import ROLE_PERMISSIONS, Role
from tests.factories import StaffFactory

pytestmark = pytest.mark.django_db


def _permission(label: str) -> Permission:
    app_label, codename = label.split(".")
    return Permission.objects.get(content_type__app_label=app_label, codename=codename)


def test_a_user_holds_their_roles_and_their_own_permissions_read_in_one_query(
    django_assert_num_queries: Any,
) -> None:
    agent = StaffFactory(role=Role.AGENT)
    agent.user_permissions.add(_permission("accounts.manage_staff"))
    fresh = User.objects.get(pk=agent.pk)

    with django_assert_num_queries(1):
        held = fresh.get_all_permissions()
        assert fresh.has_perm("accounts.manage_staff")
        assert fresh.has_perm("tickets.view_ticket")

    assert held == ROLE_PERMISSIONS[Role.AGENT] | {"accounts.manage_staff"}


def test_the_permissions_are_those_of_djangos_own_backend() -> None:
    from django.contrib.auth.backends import ModelBackend

    for role in Role:
        user = StaffFactory(role=role)
        assert StaffBackend().get_all_permissions(
            User.objects.get(pk=user.pk)
        ) == ModelBackend().get_all_permissions(User.objects.get(pk=user.pk))


def test_an_inactive_user_holds_nothing() -> None:
    user = StaffFactory(role=Role.ADMIN)
    User.objects.filter(pk=user.pk).update(is_active=False)

    inactive = User.objects.get(pk=user.pk)

    assert inactive.get_all_permissions() == set()
    assert not inactive.has_perm("tickets.view_ticket")


def test_a_superuser_holds_every_permission() -> None:
    root = User.objects.create_superuser(username="root", password="x", email="r@example.com")

    assert StaffBackend().get_all_permissions(root) == {
        f"{p.content_type.app_label}.{p.codename}"
        for p in Permission.objects.select_related("content_type")
    }


def test_a_signed_in_user_comes_with_their_groups(django_assert_num_queries: Any) -> None:
    supervisor = StaffFactory(role=Role.SUPERVISOR)

    user = StaffBackend().get_user(supervisor.pk)

    assert user is not None
    with django_assert_num_queries(0):
        assert user.role == Role.SUPERVISOR
        assert user.role == Role.SUPERVISOR


def test_a_deactivated_user_is_signed_out() -> None:
    user = StaffFactory(role=Role.AGENT)
    User.objects.filter(pk=user.pk).update(is_active=False)

    assert StaffBackend().get_user(user.pk) is None
    assert StaffBackend().get_user(10**9) is None
