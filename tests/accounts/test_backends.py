from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Permission

from accounts.backends import StaffBackend
from accounts.models import User
from accounts.roles import ROLE_PERMISSIONS, Role
from accounts.services import staff_issue_token
from recovery.services import authority_policy_set
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


def test_a_signed_in_user_comes_with_their_permissions_and_policy_in_one_query(
    django_assert_num_queries: Any,
) -> None:
    from recovery.selectors import policy_for

    agent = StaffFactory(role=Role.AGENT)
    agent.user_permissions.add(_permission("accounts.manage_staff"))

    with django_assert_num_queries(1):
        user = StaffBackend().get_user(agent.pk)
        assert user is not None
        assert user.has_perm("accounts.manage_staff")
        assert user.has_perm("tickets.view_ticket")
        assert user.role == Role.AGENT
        assert policy_for(user).is_default  # read with the user: no policy row

    assert user.get_all_permissions() == ModelBackend().get_all_permissions(
        User.objects.get(pk=agent.pk)
    )


def test_a_token_caller_comes_with_the_same_in_one_query(
    django_assert_num_queries: Any,
) -> None:
    from helpdesk.api.throttling import ThrottledTokenAuthentication

    supervisor = StaffFactory(role=Role.SUPERVISOR)
    key = staff_issue_token(user=supervisor)

    with django_assert_num_queries(1):
        user, token = ThrottledTokenAuthentication().authenticate_credentials(key)
        assert user.pk == supervisor.pk
        assert token.key == key
        assert user.has_perm("recovery.decide_approvalrequest")
        assert user.role == Role.SUPERVISOR


def test_only_a_user_read_with_their_access_is_trusted_for_their_policy() -> None:
    from recovery.selectors import policy_for

    agent = StaffFactory(role=Role.AGENT)
    supervisor = StaffFactory(role=Role.SUPERVISOR)
    assert policy_for(agent).is_default
    authority_policy_set(
        user=agent,
        actor=supervisor,
        values={
            "per_incident_limit": "7.00",
            "per_period_limit": "70.00",
            "period": "week",
            "per_customer_limit": "7.00",
            "allowed_kinds": ["gift"],
            "currency": "USD",
        },
    )

    # The same object, changed by a service since: read afresh.
    assert policy_for(agent).per_incident_limit == Decimal("7.00")
