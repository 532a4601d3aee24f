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


def test_schema_describes_every_endpoint(schema: dict[str, Any]) -> None:
    assert set(schema["paths"]) >= {"/api/v1/me/", "/api/v1/staff/"}
    assert set(schema["paths"]["/api/v1/me/"]) == {"get", "patch"}


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
