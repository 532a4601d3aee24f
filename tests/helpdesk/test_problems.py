"""Every error, from DRF or from Django itself, has the RFC 9457 shape under /api/."""

from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import User
from helpdesk.api.problems import PROBLEM_TYPES
from tests.helpers import assert_problem, client_for


@pytest.mark.django_db
def test_malformed_json_is_400(agent: User) -> None:
    response = client_for(agent).patch(
        "/api/v1/me/", data="{not json", content_type="application/json"
    )

    body = assert_problem(response, 400, "malformed-request")
    assert "JSON parse error" in body["detail"]


@pytest.mark.django_db
def test_invalid_field_is_400_with_errors_per_field(agent: User) -> None:
    response = client_for(agent).patch("/api/v1/me/", {"time_zone": "Nowhere/Town"}, format="json")

    body = assert_problem(response, 400, "validation-error")
    assert body["errors"] == {
        "time_zone": [
            "Nowhere/Town is not a known time zone; use an IANA name such as Europe/Paris."
        ]
    }
    assert body["detail"].startswith("time_zone: Nowhere/Town is not a known time zone")


@pytest.mark.django_db
def test_unauthenticated_is_401_with_a_challenge(api_client: APIClient) -> None:
    response = api_client.get("/api/v1/me/")

    assert_problem(response, 401, "not-authenticated")
    assert response["WWW-Authenticate"] == "Token"


@pytest.mark.django_db
def test_unknown_token_is_401(api_client: APIClient) -> None:
    response = api_client.get("/api/v1/me/", HTTP_AUTHORIZATION="Token not-a-real-token")

    assert_problem(response, 401, "authentication-failed")


@pytest.mark.django_db
def test_role_without_permission_is_403(agent: User) -> None:
    response = client_for(agent).get("/api/v1/staff/")

    assert_problem(response, 403, "permission-denied")


@pytest.mark.django_db
def test_unknown_api_path_is_404_problem(agent: User) -> None:
    response = client_for(agent).get("/api/v1/no-such-thing/")

    body = assert_problem(response, 404, "not-found")
    assert "/api/v1/no-such-thing/" in body["detail"]


@pytest.mark.django_db
def test_wrong_method_is_405_with_allow_header(agent: User) -> None:
    response = client_for(agent).post("/api/v1/me/", {}, format="json")

    assert_problem(response, 405, "method-not-allowed")
    assert "PATCH" in response["Allow"]


@pytest.mark.django_db
def test_wrong_media_type_is_415(agent: User) -> None:
    response = client_for(agent).patch("/api/v1/me/", "first_name=x", content_type="text/plain")

    assert_problem(response, 415, "unsupported-media-type")


@pytest.mark.django_db
def test_oversized_body_is_413_naming_the_limit(agent: User, settings: Any) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    client = Client()
    client.force_login(agent)

    response = client.patch(
        "/api/v1/me/", data='{"first_name": "' + "x" * 2000 + '"}', content_type="application/json"
    )

    body = assert_problem(response, 413, "payload-too-large")
    assert body["limit_bytes"] == 1000
    assert "1000 bytes" in body["detail"]
    agent.refresh_from_db()
    assert agent.first_name == ""


@pytest.mark.django_db
@pytest.mark.urls("tests.helpdesk.urls_failing")
def test_unexpected_error_is_500_problem_without_a_stack_trace() -> None:
    client = Client(raise_request_exception=False)

    response = client.get("/api/v1/failing/")

    body = assert_problem(response, 500, "server-error")
    assert "boom" not in response.content.decode()
    assert "Traceback" not in body["detail"]


@pytest.mark.django_db
@pytest.mark.urls("tests.helpdesk.urls_failing")
def test_csrf_failure_under_api_is_403_problem(agent: User) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(agent)

    response = client.patch("/api/v1/me/", {"first_name": "Eve"}, content_type="application/json")

    body = assert_problem(response, 403, "permission-denied")
    assert "CSRF" in body["detail"]


@pytest.mark.django_db
def test_pages_outside_the_api_get_html_errors() -> None:
    response = Client().get("/no-such-page/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
    assert b"Page not found" in response.content


@pytest.mark.django_db
@pytest.mark.parametrize("slug", sorted(PROBLEM_TYPES))
def test_every_problem_type_is_documented_at_its_uri(slug: str) -> None:
    response = Client().get(PROBLEM_TYPES[slug].uri)

    assert response.status_code == 200
    assert PROBLEM_TYPES[slug].title.encode() in response.content


@pytest.mark.django_db
def test_unknown_problem_type_page_is_404() -> None:
    assert Client().get("/problems/not-a-problem/").status_code == 404
