"""Django's admin cannot change a ticket: every change goes through the services."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from tests.factories import TicketFactory
from tickets.models import Status

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser_client() -> Client:
    user = get_user_model().objects.create_superuser("root", "root@staff.example", "pw-root-123")
    client = Client()
    client.force_login(user)
    return client


def test_the_admin_shows_a_ticket_without_a_way_to_change_it(superuser_client: Client) -> None:
    ticket = TicketFactory()

    page = superuser_client.get(f"/admin/tickets/ticket/{ticket.pk}/change/")

    assert page.status_code == 200
    assert b'name="status"' not in page.content
    assert b"View ticket" in page.content
    assert b'name="_save"' not in page.content


def test_a_forged_admin_post_changes_nothing(superuser_client: Client) -> None:
    ticket = TicketFactory()

    response = superuser_client.post(
        f"/admin/tickets/ticket/{ticket.pk}/change/", {"status": Status.CLOSED}
    )

    assert response.status_code == 403
    ticket.refresh_from_db()
    assert ticket.status == Status.NEW


def test_the_admin_cannot_delete_history(superuser_client: Client) -> None:
    ticket = TicketFactory()
    event = ticket.events.get()

    response = superuser_client.post(f"/admin/tickets/ticket/{ticket.pk}/delete/", {"post": "yes"})

    assert response.status_code == 403
    assert ticket.events.filter(pk=event.pk).exists()
