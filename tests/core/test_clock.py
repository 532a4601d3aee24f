import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from accounts.roles import Role
from core import clock
from outbox.models import OutboxItem
from tests.factories import StaffFactory, TicketFactory
from tickets.services import ticket_acknowledge

MOMENT = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def test_now_is_the_wall_clock_outside_a_frozen_block() -> None:
    before = timezone.now()
    now = clock.now()

    assert before <= now <= timezone.now()


def test_frozen_sets_now_for_its_block_and_restores_it() -> None:
    later = MOMENT + timedelta(days=1)

    with clock.frozen(MOMENT):
        assert clock.now() == MOMENT
        with clock.frozen(later):
            assert clock.now() == later
        assert clock.now() == MOMENT

    assert clock.now() != MOMENT
    assert abs(clock.now() - timezone.now()) < timedelta(seconds=5)


def test_frozen_stays_in_its_own_thread() -> None:
    seen: list[datetime] = []

    with clock.frozen(MOMENT):
        other = threading.Thread(target=lambda: seen.append(clock.now()))
        other.start()
        other.join()
        here = clock.now()

    assert here == MOMENT
    assert seen[0] != MOMENT
    assert abs(seen[0] - timezone.now()) < timedelta(seconds=5)


def test_frozen_refuses_a_naive_moment() -> None:
    naive = datetime(2026, 3, 2, 9, 30)  # noqa: DTZ001 - the point of the test

    with pytest.raises(ValueError, match="aware"), clock.frozen(naive):
        pass


@pytest.mark.django_db
def test_services_and_models_stamp_rows_with_the_frozen_moment() -> None:
    later = MOMENT + timedelta(hours=2)

    agent = StaffFactory(role=Role.AGENT)

    with clock.frozen(MOMENT):
        ticket = TicketFactory(actor=agent)
    with clock.frozen(later):
        ticket = ticket_acknowledge(ticket=ticket, actor=agent, message="We have it.")

    ticket.refresh_from_db()
    # default=clock.now, and clock.DateTimeField's auto_now_add and auto_now.
    assert ticket.created_at == ticket.clock_started_at == MOMENT
    assert ticket.customer.created_at == MOMENT
    assert ticket.acknowledged_at == ticket.updated_at == later
    assert ticket.customer.updated_at == MOMENT
    assert {event.created_at for event in ticket.events.all()} == {MOMENT, later}
    assert set(ticket.messages.values_list("created_at", flat=True)) == {MOMENT, later}
    assert OutboxItem.objects.filter(created_at=later, due_at=later).exists()
