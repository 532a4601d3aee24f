"""The API answers what its schema says, checked by schemathesis.

Every operation of /api/schema/ is called in process (the WSGI app, no
server) as an agent, a supervisor and an admin, with a fixed seed and a few
examples each, over a little seeded data, and every answer must pass the
checks below: no 5xx, only documented statuses and content types, bodies of
the documented shape, schema-invalid requests refused with a 4xx and
schema-valid ones never refused as malformed (400).
"""

import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections, connection
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import CHECKS
from schemathesis.config import SchemathesisConfig

from accounts.models import User
from accounts.roles import Role
from helpdesk.wsgi import application
from recovery.models import ApprovalRequest, FollowUp, Restitution
from recovery.services import restitution_grant
from tests.factories import QueueFactory, StaffFactory, TicketFactory, advance
from tickets.models import Kind, Ticket

# The seeding below restarts PostgreSQL sequences (the suite's database).
pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="seeds known ids with PostgreSQL sequences"
)

ROLES = (Role.AGENT, Role.SUPERVISOR, Role.ADMIN)
CHECK_NAMES = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
    "positive_data_acceptance",
)

CONFIG = SchemathesisConfig.from_dict(
    {
        # Reproducible: the same cases on every run and machine.
        "seed": 13,
        "generation": {
            "max-examples": 12,
            "deterministic": True,
            # NUL in text is refused as malformed (400) by design, and tested on
            # its own in test_bad_input; the schema cannot say "no NUL".
            "allow-x00": False,
        },
        "checks": {
            # 422 is a business rule broken by well-formed input (a due time in
            # the past, a currency other than the policy's, a step out of
            # order is 409): the schema cannot express those, so schema-valid
            # data may meet them. A 400 for schema-valid data stays a failure.
            "positive_data_acceptance": {
                "expected-statuses": ["2xx", "401", "403", "404", "409", "422", "429"]
            },
        },
        "phases": {"stateful": {"enabled": False}},
        "operations": [
            {
                # The coverage phase sends every value of an enum, and a time
                # zone is one of ~600 IANA names: a minute of the run's three
                # for one field. Fuzzing still draws zones, valid and not.
                "include-path": "/api/v1/me/",
                "include-method": "PATCH",
                "phases": {"coverage": {"enabled": False}},
            },
        ],
    }
)
# The mail gateway's body is a raw RFC 5322 message, sent as the bytes drawn.
schemathesis.serializer.alias("message/rfc822", "application/octet-stream")


# The seeded rows get ids from here on (see _restart_ids), so the schema can
# name them before any row exists: pytest collects one test per operation.
FIRST_ID = 1_000_000
SEEDED = {
    "/api/v1/tickets/": 4,
    "/api/v1/restitutions/": 2,
    "/api/v1/approvals/": 1,
    "/api/v1/follow-ups/": 3,
    "/api/v1/authority/policies/": 2,
}
ID_TABLES = (User, Ticket, Restitution, ApprovalRequest, FollowUp)


def _restart_ids() -> None:
    with connection.cursor() as cursor:
        for model in ID_TABLES:
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence(%s, 'id'), %s, false)",
                [model._meta.db_table, FIRST_ID],
            )


@pytest.fixture(params=ROLES, ids=str)
def token(request: pytest.FixtureRequest, db: None) -> str:
    """The caller's API token, on a desk with a little of everything."""
    _restart_ids()
    role = request.param
    caller = StaffFactory(role=role)
    agent = caller if role == Role.AGENT else StaffFactory(role=Role.AGENT)
    queue = QueueFactory(members=[agent])
    TicketFactory(actor=agent, queue=queue)
    TicketFactory(actor=agent, kind=Kind.MISHAP)  # no queue
    rebuilding = advance(TicketFactory(actor=agent, kind=Kind.MISHAP, queue=queue), "rebuilding")
    advance(TicketFactory(actor=agent, kind=Kind.MISHAP), "apologized")
    grant: dict[str, Any] = {"kind": "refund", "currency": "USD", "reason": "Broken vase."}
    restitution_grant(ticket=rebuilding, actor=agent, amount=Decimal("10.00"), **grant)
    # Above the agent's limit per incident: waits for a supervisor's approval.
    restitution_grant(ticket=rebuilding, actor=agent, amount=Decimal("60.00"), **grant)
    assert ApprovalRequest.objects.filter(pk=FIRST_ID).exists()
    assert FollowUp.objects.filter(pk=FIRST_ID + SEEDED["/api/v1/follow-ups/"] - 1).exists()
    return str(Token.objects.create(user=caller).key)


def _schema_with_seeded_ids() -> dict[str, Any]:
    """/api/schema/, with path ids drawn from the seeded rows, so reads and
    steps meet real objects rather than 404 alone. Only the valid values are
    narrowed: negative cases still send other ids (404) and ids of the wrong
    type. The rest of the schema is the one /api/schema/ serves."""
    raw: dict[str, Any] = json.loads(
        OpenApiJsonRenderer().render(SchemaGenerator().get_schema(request=None, public=True))
    )
    for path, operations in raw["paths"].items():
        count = next((n for prefix, n in SEEDED.items() if path.startswith(prefix)), 0)
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "path" and count:
                    ids = list(range(FIRST_ID, FIRST_ID + count))
                    parameter["schema"] = {"type": "integer", "enum": ids}
    return raw


schema = schemathesis.openapi.from_dict(_schema_with_seeded_ids(), config=CONFIG)
schema.app = application


@pytest.fixture
def keep_connection() -> Iterator[None]:
    """The WSGI app closes the database connection after each request; the
    test's transaction lives on it (Django's test client does the same)."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@schema.parametrize()
@hypothesis_settings(
    suppress_health_check=[
        # One seeded desk per operation and role, on purpose: the examples
        # share it, and what one changes (a step taken) the next one meets.
        HealthCheck.function_scoped_fixture,
        # Each example is a real request on a real database.
        HealthCheck.too_slow,
        # Schema-valid bodies are drawn by filtering; a few patterns (amounts,
        # dates of 2000-2100) reject many draws.
        HealthCheck.filter_too_much,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
    deadline=None,
)
@pytest.mark.usefixtures("keep_connection")
def test_the_api_answers_as_its_schema_says(case: Any, token: str) -> None:
    case.call_and_validate(
        headers={"Authorization": f"Token {token}"},
        checks=CHECKS.get_by_names(CHECK_NAMES),
    )
