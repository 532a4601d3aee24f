from typing import Any

import pytest

from accounts.models import User
from accounts.roles import Role
from tests.factories import StaffFactory
from tests.helpers import client_for


@pytest.mark.django_db
def test_me_describes_the_caller(agent: User) -> None:
    response = client_for(agent).get("/api/v1/me/")

    assert response.status_code == 200
    assert response.json() == {
        "id": agent.pk,
        "username": agent.username,
        "email": agent.email,
        "first_name": "",
        "last_name": "",
        "role": "agent",
        "time_zone": "",
    }


@pytest.mark.django_db
def test_token_authentication_works(api_client: Any) -> None:
    from accounts.services import staff_issue_token

    user = StaffFactory(role=Role.SUPERVISOR)
    key = staff_issue_token(user=user)

    response = api_client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {key}")

    assert response.status_code == 200
    assert response.json()["role"] == "supervisor"


@pytest.mark.django_db
def test_me_patch_changes_only_profile_fields(agent: User) -> None:
    response = client_for(agent).patch(
        "/api/v1/me/", {"time_zone": "Asia/Kolkata", "last_name": "Agent"}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["time_zone"] == "Asia/Kolkata"
    agent.refresh_from_db()
    assert (agent.time_zone, agent.last_name) == ("Asia/Kolkata", "Agent")


@pytest.mark.django_db
def test_me_patch_cannot_grant_a_role_or_superuser(agent: User) -> None:
    response = client_for(agent).patch(
        "/api/v1/me/", {"is_superuser": True, "role": "admin"}, format="json"
    )

    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"is_superuser", "role"}
    agent.refresh_from_db()
    assert not agent.is_superuser
    assert agent.role == Role.AGENT


@pytest.mark.django_db
@pytest.mark.parametrize("role", [Role.SUPERVISOR, Role.ADMIN])
def test_supervisors_and_admins_list_staff(role: Role) -> None:
    viewer = StaffFactory(role=role)
    StaffFactory(role=Role.AGENT, username="zed")

    response = client_for(viewer).get("/api/v1/staff/", {"role": "agent"})

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1
    assert body["results"][0]["username"] == "zed"
    assert body["results"][0]["role"] == "agent"


@pytest.mark.django_db
def test_staff_list_rejects_an_unknown_role_filter(supervisor: User) -> None:
    response = client_for(supervisor).get("/api/v1/staff/", {"role": "wizard"})

    assert response.status_code == 400
    assert "Unknown role 'wizard'" in response.json()["errors"]["role"][0]


@pytest.mark.django_db
@pytest.mark.parametrize("extra_staff", [3, 40])
def test_staff_list_costs_a_fixed_number_of_queries(
    supervisor: User, extra_staff: int, django_assert_num_queries: Any
) -> None:
    StaffFactory.create_batch(extra_staff, role=Role.AGENT)
    client = client_for(User.objects.get(pk=supervisor.pk))

    # Permissions (one query), the count, the page, the page's groups.
    with django_assert_num_queries(4):
        response = client.get("/api/v1/staff/")

    assert response.json()["count"] == extra_staff + 1
