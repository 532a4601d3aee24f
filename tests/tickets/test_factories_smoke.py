import pytest

from tests.factories import TicketFactory, advance
from tickets.models import Kind, Status


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("kind", "status"),
    [(Kind.QUESTION, s) for s in ("new", "acknowledged", "resolved", "closed")]
    + [
        (Kind.MISHAP, s)
        for s in ("acknowledged", "apologized", "committed", "rebuilding", "restored")
    ],
)
def test_advance_reaches_every_state(kind: str, status: str) -> None:
    ticket = advance(TicketFactory(kind=kind), to=status)

    assert ticket.status == Status(status)
    assert ticket.events.count() >= 1
