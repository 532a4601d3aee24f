from typing import Any

import pytest
import yaml
from django.test import Client
from openapi_spec_validator import validate


@pytest.fixture
def schema(db: None) -> dict[str, Any]:
    response = Client().get("/api/schema/")
    assert response.status_code == 200
    loaded: dict[str, Any] = yaml.safe_load(response.content)
    return loaded


def test_schema_is_valid_openapi_3(schema: dict[str, Any]) -> None:
    validate(schema)
    assert schema["openapi"].startswith("3.")


TRANSITIONS = ("acknowledge", "apologize", "commit", "resolve", "close", "restore", "reopen")


def test_schema_describes_every_endpoint(schema: dict[str, Any]) -> None:
    expected = {
        "/api/v1/me/": {"get", "patch"},
        "/api/v1/staff/": {"get"},
        "/api/v1/tickets/": {"get", "post"},
        "/api/v1/tickets/{id}/": {"get", "patch"},
        "/api/v1/tickets/{id}/messages/": {"get", "post"},
        "/api/v1/tickets/{id}/make-mishap/": {"post"},
        **{f"/api/v1/tickets/{{id}}/{name}/": {"post"} for name in TRANSITIONS},
    }
    for path, methods in expected.items():
        assert set(schema["paths"][path]) == methods, path


@pytest.mark.parametrize("name", TRANSITIONS)
def test_transitions_document_their_conflict_and_rule_problems(
    schema: dict[str, Any], name: str
) -> None:
    responses = schema["paths"][f"/api/v1/tickets/{{id}}/{name}/"]["post"]["responses"]

    assert {"200", "400", "401", "403", "404", "409", "422"} <= set(responses)
    assert "application/problem+json" in responses["409"]["content"]


def test_every_operation_documents_its_problem_responses(schema: dict[str, Any]) -> None:
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            for status in ("401", "403", "500"):
                content = responses[status]["content"]
                assert set(content) == {"application/problem+json"}, (path, method, status)
            if method in {"post", "put", "patch"}:
                problem = responses["400"]["content"]["application/problem+json"]["schema"]
                assert problem["$ref"].endswith("/ValidationProblem")


def test_problem_schema_has_the_rfc_9457_members(schema: dict[str, Any]) -> None:
    problem = schema["components"]["schemas"]["Problem"]
    assert set(problem["required"]) == {"type", "title", "status", "detail"}


@pytest.mark.django_db
def test_docs_are_served_without_any_cdn() -> None:
    response = Client().get("/api/docs/")

    assert response.status_code == 200
    page = response.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in page
    assert "cdn." not in page
    assert "jsdelivr" not in page


def test_a_tickets_queue_may_be_null(schema: dict[str, Any]) -> None:
    queue = schema["components"]["schemas"]["TicketList"]["properties"]["queue"]

    assert queue["nullable"] is True


@pytest.mark.parametrize("section", ["follow-ups", "restitutions"])
def test_a_tickets_own_lists_are_plain_arrays(schema: dict[str, Any], section: str) -> None:
    ok = schema["paths"][f"/api/v1/tickets/{{id}}/{section}/"]["get"]["responses"]["200"]

    assert ok["content"]["application/json"]["schema"]["type"] == "array"


def test_the_ticket_detail_declares_its_restitutions(schema: dict[str, Any]) -> None:
    detail = schema["components"]["schemas"]["TicketDetail"]["properties"]

    assert detail["restitutions"]["type"] == "array"
    assert detail["restitutions"]["items"]["$ref"].endswith("/Restitution")


def test_every_operation_documents_400_and_429(schema: dict[str, Any]) -> None:
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            assert {"400", "429"} <= set(operation["responses"]), (path, method)


def test_a_lists_page_past_the_end_is_documented_as_404(schema: dict[str, Any]) -> None:
    for path in ("/api/v1/tickets/", "/api/v1/staff/", "/api/v1/approvals/"):
        assert "404" in schema["paths"][path]["get"]["responses"], path


def test_a_malformed_request_needs_no_errors_member(schema: dict[str, Any]) -> None:
    problem = schema["components"]["schemas"]["ValidationProblem"]

    assert "errors" not in problem.get("required", [])


def test_page_size_is_bounded_in_the_schema(schema: dict[str, Any]) -> None:
    parameters = schema["paths"]["/api/v1/tickets/"]["get"]["parameters"]
    page_size = next(p for p in parameters if p["name"] == "page_size")

    assert (page_size["schema"]["minimum"], page_size["schema"]["maximum"]) == (1, 200)


def test_money_is_a_decimal_string_with_its_pattern(schema: dict[str, Any]) -> None:
    amount = schema["components"]["schemas"]["GrantRequest"]["properties"]["amount"]

    assert amount["type"] == "string"
    assert amount["pattern"] == r"^[0-9]{1,10}(\.[0-9]{1,2})?$"


def test_a_429_names_its_retry_after_header(schema: dict[str, Any]) -> None:
    throttled = schema["paths"]["/api/v1/tickets/"]["get"]["responses"]["429"]

    assert throttled["headers"]["Retry-After"]["schema"]["type"] == "integer"
    assert "application/problem+json" in throttled["content"]
