"""The notifications endpoints: the caller's own inbox, paginated, unread
only on request; read one; read all. Nobody reaches another's."""

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts.models import User
from accounts.roles import Role
from tests.factories import StaffFactory, TicketFactory
from tests.helpers import client_for
from tickets.models import Notification, NotificationKind
from tickets.services import ticket_update
from tickets.services.notifications import notify

pytestmark = pytest.mark.django_db

URL = "/api/v1/notifications/"


def tell(user: User, count: int = 1, **fields: Any) -> list[Notification]:
    ticket = TicketFactory(actor=StaffFactory(role=Role.SUPERVISOR))
    return [
        notify(kind=NotificationKind.ASSIGNED, ticket=ticket, recipients=[user], text=f"N{n}")[0]
        for n in range(count)
    ]


def test_the_list_has_the_fields_newest_first(supervisor: User, agent: User) -> None:
    ticket = TicketFactory(actor=supervisor, subject="Kettle")
    ticket_update(ticket=ticket, actor=supervisor, assignee=agent)
    older = Notification.objects.get(recipient=agent)
    [newer] = tell(agent)

    response = client_for(agent).get(URL)

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    first, second = body["results"]
    assert first["id"] == newer.pk
    assert second["id"] == older.pk
    assert set(second) >= {"id", "kind", "ticket", "text", "created_at", "read_at"}
    assert second["kind"] == "assigned"
    assert second["ticket"] == ticket.pk
    assert second["ticket_reference"] == ticket.reference
    assert second["text"] == older.text
    assert second["read_at"] is None


def test_unread_true_lists_only_the_unread_and_is_paginated(agent: User) -> None:
    rows = tell(agent, 5)
    client = client_for(agent)
    assert client.post(f"{URL}{rows[0].pk}/read/").status_code == 200

    body = client.get(URL, {"unread": "true", "page_size": "2"}).json()

    assert body["count"] == 4
    assert len(body["results"]) == 2
    assert body["next"]
    assert all(r["read_at"] is None for r in body["results"])
    assert client.get(URL, {"unread": "false"}).json()["count"] == 5


def test_an_unread_value_that_is_not_a_boolean_is_a_400(agent: User) -> None:
    response = client_for(agent).get(URL, {"unread": "maybe"})

    assert response.status_code == 400
    assert "maybe" in response.content.decode()


def test_reading_one_sets_read_at_and_reading_again_keeps_it(agent: User) -> None:
    [row] = tell(agent)
    client = client_for(agent)

    first = client.post(f"{URL}{row.pk}/read/")
    again = client.post(f"{URL}{row.pk}/read/")

    assert first.status_code == 200
    assert first.json()["read_at"]
    assert again.json()["read_at"] == first.json()["read_at"]
    row.refresh_from_db()
    assert row.read_at is not None


def test_another_persons_notification_is_a_404_and_stays_unread(agent: User) -> None:
    [theirs] = tell(StaffFactory(role=Role.AGENT))

    response = client_for(agent).post(f"{URL}{theirs.pk}/read/")

    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None
    assert client_for(agent).get(URL).json()["count"] == 0


def test_read_all_marks_only_the_callers_and_says_how_many(agent: User) -> None:
    tell(agent, 3)
    [theirs] = tell(StaffFactory(role=Role.AGENT))

    response = client_for(agent).post(f"{URL}read-all/")

    assert response.status_code == 200
    assert response.json() == {"marked_read": 3}
    assert client_for(agent).post(f"{URL}read-all/").json() == {"marked_read": 0}
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_email_only_notifications_are_not_in_the_inbox(agent: User) -> None:
    from tickets.services.notifications import notification_preferences_set

    notification_preferences_set(user=agent, choices={NotificationKind.ASSIGNED: (False, True)})
    tell(agent)

    assert client_for(agent).get(URL).json()["count"] == 0


def test_without_credentials_nothing_is_listed() -> None:
    assert APIClient().get(URL).status_code in (401, 403)
    assert APIClient().post(f"{URL}read-all/").status_code in (401, 403)


def test_the_list_costs_the_same_queries_for_3_or_30(agent: User) -> None:
    client = client_for(agent)
    tell(agent, 3)
    with CaptureQueriesContext(connection) as few:
        client.get(URL)
    tell(agent, 27)
    with CaptureQueriesContext(connection) as many:
        client.get(URL)

    assert len(many) == len(few)
