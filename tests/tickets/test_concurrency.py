"""Two requests for the same transition at the same moment, on PostgreSQL:
the row lock lets exactly one win; the other gets 409; one event is recorded."""

import threading
from typing import Any

import pytest
from django.db import connection

from tests.factories import TicketFactory
from tests.helpers import assignee_of, client_for
from tickets.models import Status, Ticket


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("attempt", range(3))
def test_simultaneous_transitions_have_exactly_one_winner(attempt: int) -> None:
    ticket = TicketFactory()
    agent = assignee_of(ticket)
    barrier = threading.Barrier(2)
    results: list[Any] = []

    def acknowledge() -> None:
        client = client_for(agent)
        barrier.wait()
        try:
            response = client.post(
                f"/api/v1/tickets/{ticket.pk}/acknowledge/", {"message": "On it."}, format="json"
            )
            results.append((response.status_code, response.json()))
        finally:
            connection.close()

    threads = [threading.Thread(target=acknowledge) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    codes = sorted(code for code, _ in results)
    assert codes == [200, 409]
    refused = next(body for code, body in results if code == 409)
    assert refused["current_status"] == Status.ACKNOWLEDGED
    ticket = Ticket.objects.get(pk=ticket.pk)
    assert ticket.status == Status.ACKNOWLEDGED
    assert ticket.events.filter(action="acknowledge").count() == 1
    assert ticket.messages.filter(step="acknowledge").count() == 1
