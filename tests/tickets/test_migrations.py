"""Data migrations of the tickets app."""

from datetime import UTC, datetime
from importlib import import_module

import pytest
from django.apps import apps
from django.urls import reverse

from accounts.models import User
from tests.factories import TicketFactory, advance
from tests.helpers import console_client
from tickets.models import Kind, Status

pytestmark = pytest.mark.django_db

clamp_migration = import_module("tickets.migrations.0011_commitments_within_representable_times")


def test_a_commitment_stored_at_the_end_of_time_is_shown_again_east_of_utc(agent: User) -> None:
    agent.time_zone = "Asia/Tokyo"
    agent.save(update_fields=["time_zone"])
    ticket = advance(TicketFactory(actor=agent, kind=Kind.MISHAP), to=Status.COMMITTED)
    # What the API accepted before due times were limited to 5 years ahead.
    ticket.commitments.update(due_at=datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC))
    url = reverse("console:tickets_ticket_change", args=[ticket.pk])
    with pytest.raises(OverflowError):
        console_client(agent).get(url)

    clamp_migration.clamp(apps, None)
    response = console_client(agent).get(url)

    assert response.status_code == 200
    assert "Dec 30, 9999 09:00" in response.content.decode()
    assert ticket.commitments.get().due_at == clamp_migration.LAST_SHOWABLE
