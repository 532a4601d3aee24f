"""What the tickets API refuses: a customer name on two lines, an oversized
"our part", staff without a role. A known customer keeps their name."""

import pytest

from accounts.models import User
from tests.factories import TicketFactory
from tests.helpers import client_for
from tickets.models import Kind, Status, Ticket

pytestmark = pytest.mark.django_db


def test_a_new_ticket_does_not_rename_a_known_customer() -> None:
    first = TicketFactory(customer_email="vip@example.com", customer_name="Dr. Maria Silva")

    second = TicketFactory(customer_email="VIP@example.com", customer_name="maria")

    assert second.customer == first.customer
    first.customer.refresh_from_db()
    assert first.customer.name == "Dr. Maria Silva"


def test_a_customer_name_on_two_lines_is_refused(agent: User) -> None:
    response = client_for(agent).post(
        "/api/v1/tickets/",
        {
            "subject": "Hello",
            "body": "Hi",
            "customer_email": "maria@example.com",
            "customer_name": "maria\nBcc: everyone@example.com",
        },
        format="json",
    )

    assert response.status_code == 422
    assert "one line" in response.json()["errors"]["customer_name"][0]
    assert not Ticket.objects.exists()


def test_our_part_has_a_size_limit(agent: User) -> None:
    ticket = TicketFactory(kind=Kind.MISHAP, actor=agent)

    response = client_for(agent).post(
        f"/api/v1/tickets/{ticket.pk}/acknowledge/",
        {"message": "Hi", "our_part": "x" * 10_001},
        format="json",
    )

    assert response.status_code == 400
    assert "our_part" in response.json()["errors"]
    assert Ticket.objects.get(pk=ticket.pk).status == Status.NEW


def test_staff_without_a_role_gets_403_on_tickets() -> None:
    nobody = User.objects.create_user("nobody", "nobody@staff.example", "pw-nobody-123")
    ticket = TicketFactory()
    api = client_for(nobody)

    assert api.get("/api/v1/tickets/").status_code == 403
    assert api.get(f"/api/v1/tickets/{ticket.pk}/").status_code == 403
    created = api.post(
        "/api/v1/tickets/",
        {"subject": "x", "body": "y", "customer_email": "a@example.com", "customer_name": "A"},
        format="json",
    )
    assert created.status_code == 403
    assert created.json()["type"] == "/problems/permission-denied/"
