import pytest
from django.apps import apps
from django.contrib.auth.models import Group

from accounts.models import User
from accounts.roles import ROLE_PERMISSIONS, Role, UnknownPermissionError, sync_role_permissions
from tests.factories import StaffFactory


@pytest.mark.django_db
def test_each_role_is_a_group_holding_exactly_its_permissions() -> None:
    for role, expected in ROLE_PERMISSIONS.items():
        group = Group.objects.get(name=role.value)
        held = {
            f"{p.content_type.app_label}.{p.codename}"
            for p in group.permissions.select_related("content_type")
        }
        assert held == expected, role


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("role", "allowed", "refused"),
    [
        (
            Role.AGENT,
            ["accounts.view_customer"],
            ["accounts.view_staff_directory", "accounts.manage_staff"],
        ),
        (
            Role.SUPERVISOR,
            ["accounts.view_customer", "accounts.view_staff_directory"],
            ["accounts.manage_staff", "accounts.change_user"],
        ),
        (
            Role.ADMIN,
            ["accounts.view_staff_directory", "accounts.manage_staff", "accounts.change_user"],
            ["accounts.delete_user", "accounts.delete_customer"],
        ),
    ],
)
def test_users_hold_the_permissions_of_their_role(
    role: Role, allowed: list[str], refused: list[str]
) -> None:
    user = User.objects.get(pk=StaffFactory(role=role).pk)  # fresh permission cache

    assert all(user.has_perm(p) for p in allowed)
    assert not any(user.has_perm(p) for p in refused)


def test_roles_grow_in_power() -> None:
    assert ROLE_PERMISSIONS[Role.AGENT] < ROLE_PERMISSIONS[Role.SUPERVISOR]
    assert ROLE_PERMISSIONS[Role.SUPERVISOR] < ROLE_PERMISSIONS[Role.ADMIN]


@pytest.mark.django_db
def test_a_listed_permission_that_does_not_exist_is_an_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(
        ROLE_PERMISSIONS, Role.AGENT, ROLE_PERMISSIONS[Role.AGENT] | {"accounts.fly_to_moon"}
    )

    with pytest.raises(UnknownPermissionError, match=r"accounts\.fly_to_moon"):
        sync_role_permissions(apps.get_app_config("accounts"))


@pytest.mark.django_db
def test_user_role_is_the_most_powerful_group() -> None:
    user = StaffFactory(role=Role.AGENT)
    user.groups.add(Group.objects.get(name="supervisor"))

    assert User.objects.prefetch_related("groups").get(pk=user.pk).role == Role.SUPERVISOR


@pytest.mark.django_db
def test_a_permission_taken_off_a_role_is_taken_from_its_group(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    group = Group.objects.get(name="supervisor")
    assert group.permissions.filter(codename="view_processfix").exists()
    monkeypatch.setitem(
        ROLE_PERMISSIONS,
        Role.SUPERVISOR,
        ROLE_PERMISSIONS[Role.SUPERVISOR] - {"recovery.view_processfix"},
    )

    sync_role_permissions(apps.get_app_config("recovery"))

    assert not group.permissions.filter(codename="view_processfix").exists()
    assert group.permissions.filter(codename="view_followup").exists()
