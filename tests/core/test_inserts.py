"""New rows written by an INSERT built once a process (core.inserts): the
row ``save()`` would write, prepared on a kept connection; what it cannot
write alike handed to ``save()``; errors as ``save()`` raises them."""

from datetime import UTC, datetime
from typing import Any

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import Value
from django.db.models.functions import Now
from django.db.models.signals import post_save
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from core import clock
from core.inserts import inserted
from recovery.models import IdempotencyKey
from tests.factories import TicketFactory
from tickets.models import Ticket, TicketEvent
from tickets.models.records import AppendOnlyError

pytestmark = pytest.mark.django_db

MOMENT = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def ticket(agent: User) -> Ticket:
    return TicketFactory(actor=agent)


def _event(ticket: Ticket, actor: User | None, **fields: Any) -> TicketEvent:
    return TicketEvent(
        **{
            "ticket": ticket,
            "actor": actor,
            "action": "noted",
            "payload": {"amount": "5.00", "words": ["é", "€"], "nested": {"n": 1}},
        }
        | fields
    )


def _stored(event: TicketEvent) -> dict[str, Any]:
    return dict(TicketEvent.objects.filter(pk=event.pk).values().get())


def test_the_row_is_the_one_save_writes(agent: User, ticket: Ticket) -> None:
    with clock.frozen(MOMENT):
        saved = _event(ticket, agent)
        saved.save()
        written = inserted(_event(ticket, agent))

    assert written.pk is not None
    assert written.pk != saved.pk
    assert not written._state.adding
    assert written._state.db == "default"
    stored, expected = _stored(written), _stored(saved)
    assert stored.pop("id") == written.pk
    expected.pop("id")
    assert stored == expected
    assert stored["created_at"] == MOMENT
    assert written.created_at == MOMENT
    # The saved row is one: changing it is refused as any saved event's.
    with pytest.raises(AppendOnlyError):
        inserted(written)


def test_a_value_left_empty_is_written_as_null(ticket: Ticket) -> None:
    written = inserted(_event(ticket, None))

    assert _stored(written)["actor_id"] is None


def test_on_a_kept_connection_the_insert_is_prepared(
    agent: User, ticket: Ticket, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 60)
    with CaptureQueriesContext(connection) as captured:
        written = [inserted(_event(ticket, agent)) for _ in range(3)]

    assert len({event.pk for event in written}) == 3
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [statement for (statement,) in cursor.fetchall()]
    assert any('INSERT INTO "tickets_ticketevent"' in statement for statement in prepared)
    # Logged with its values, as any query: the tests' counts see it.
    assert len(captured) == 3
    assert all("'noted'" in query["sql"] for query in captured.captured_queries)


def test_an_expression_is_left_to_save(agent: User, ticket: Ticket) -> None:
    written = inserted(_event(ticket, agent, created_at=Now(), action=Value("noted")))

    stored = _stored(written)
    assert stored["action"] == "noted"
    assert abs((stored["created_at"] - datetime.now(UTC)).total_seconds()) < 60


def test_a_model_with_receivers_is_left_to_save(agent: User, ticket: Ticket) -> None:
    heard: list[bool] = []

    def receiver(sender: type, instance: TicketEvent, created: bool, **kwargs: Any) -> None:
        heard.append(created)

    post_save.connect(receiver, sender=TicketEvent)
    try:
        inserted(_event(ticket, agent))
    finally:
        post_save.disconnect(receiver, sender=TicketEvent)

    assert heard == [True]


def test_an_unsaved_relation_is_refused_as_save_refuses_it(agent: User) -> None:
    with pytest.raises(ValueError, match="unsaved related object 'ticket'"):
        inserted(_event(Ticket(subject="Never saved"), agent))

    assert not TicketEvent.objects.filter(action="noted").exists()


@pytest.mark.parametrize("kept", [0, 60], ids=["per-request", "kept"])
def test_a_broken_constraint_is_djangos_integrity_error_and_rolls_back(
    agent: User, kept: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", kept)

    def key(body: dict[str, Any]) -> IdempotencyKey:
        return IdempotencyKey(
            user=agent, key="k-1", fingerprint="f", response_status=201, response_body=body
        )

    inserted(key({"id": 1, "amount": "5.00"}))
    with transaction.atomic():
        with pytest.raises(IntegrityError):
            inserted(key({"id": 2}))
        # As after save(): the transaction can only be rolled back.
        assert transaction.get_rollback()

    stored = IdempotencyKey.objects.get(user=agent, key="k-1")
    assert stored.response_body == {"id": 1, "amount": "5.00"}
