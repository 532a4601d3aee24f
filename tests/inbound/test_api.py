from typing import TYPE_CHECKING

import pytest
from rest_framework.test import APIClient

from accounts.models import User
from inbound.models import InboundEmail
from tests.helpers import client_for
from tests.inbound.mail import raw_email
from tickets.models import Ticket

if TYPE_CHECKING:
    from rest_framework.response import _MonkeyPatchedResponse

pytestmark = pytest.mark.django_db

URL = "/api/v1/inbound/email/"


def post(
    client: APIClient, raw: bytes, content_type: str = "message/rfc822"
) -> "_MonkeyPatchedResponse":
    return client.post(URL, data=raw, content_type=content_type)


def test_a_gateway_hands_in_an_email_and_a_ticket_opens(admin_staff: User) -> None:
    response = post(client_for(admin_staff), raw_email(sender="pat@example.com"))

    assert response.status_code == 201
    body = response.json()
    ticket = Ticket.objects.get()
    assert body == {
        "id": InboundEmail.objects.get().pk,
        "status": "processed",
        "outcome": "new_ticket",
        "reason": "",
        "ticket": ticket.pk,
        "duplicate": False,
    }


def test_the_same_message_twice_is_answered_as_a_duplicate(admin_staff: User) -> None:
    raw = raw_email(message_id="<twice@customer.example>")
    client = client_for(admin_staff)

    first, second = post(client, raw), post(client, raw)

    assert (first.status_code, second.status_code) == (201, 200)
    assert second.json()["duplicate"] is True
    assert Ticket.objects.count() == 1


def test_anonymous_callers_are_refused() -> None:
    response = post(APIClient(), raw_email())

    assert response.status_code == 401
    assert not InboundEmail.objects.exists()


@pytest.mark.parametrize("role", ["agent", "supervisor"])
def test_staff_without_the_gateway_permission_are_refused(
    request: pytest.FixtureRequest, role: str
) -> None:
    user = request.getfixturevalue(role)

    response = post(client_for(user), raw_email())

    assert response.status_code == 403
    assert not InboundEmail.objects.exists()


def test_a_message_above_the_limit_gets_413_naming_it(admin_staff: User, settings: object) -> None:
    settings.HELPDESK_INBOUND_MAX_BYTES = 300  # type: ignore[attr-defined]

    response = post(client_for(admin_staff), raw_email(body="x" * 1000))

    assert response.status_code == 413
    assert response.json()["limit_bytes"] == 300
    assert "above the limit of 300" in response.json()["detail"]
    assert not InboundEmail.objects.exists()


def test_a_message_larger_than_a_form_body_is_accepted(admin_staff: User, settings: object) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000  # type: ignore[attr-defined]

    response = post(
        client_for(admin_staff),
        raw_email(attachments=[("scan.pdf", b"%" * 5000, "application/pdf")]),
    )

    assert response.status_code == 201


def test_an_empty_body_is_a_clear_400(admin_staff: User) -> None:
    response = post(client_for(admin_staff), b"")

    assert response.status_code == 400
    assert "raw email" in response.json()["detail"]


def test_json_is_refused_with_the_media_type_named(admin_staff: User) -> None:
    response = post(client_for(admin_staff), b'{"a": 1}', content_type="application/json")

    assert response.status_code == 415


def test_a_body_of_whitespace_is_kept_and_quarantined(admin_staff: User) -> None:
    response = post(client_for(admin_staff), b"\x0c\r\n")

    assert response.status_code == 201
    assert response.json()["status"] == "quarantined"
