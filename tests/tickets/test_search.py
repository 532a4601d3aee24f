"""The ticket search (API ``?search=``): full-text on PostgreSQL, substring on
SQLite (the local demo); on both, a reference finds its ticket."""

from typing import Any

import pytest
from django.db import connection

from accounts.models import User
from tests.conftest import client_for
from tests.factories import TicketFactory
from tickets.models import Ticket
from tickets.services import message_create

TICKETS = "/api/v1/tickets/"
on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="full-text search is PostgreSQL's"
)
on_sqlite = pytest.mark.skipif(connection.vendor != "sqlite", reason="the SQLite fallback")


@pytest.fixture
def tickets(supervisor: User) -> dict[str, Ticket]:
    parcels = TicketFactory(
        actor=supervisor, subject="Two parcels lost", body="Both were sent to Leeds."
    )
    grinder = TicketFactory(
        actor=supervisor, subject="Question", body="The espresso grinder is too loud."
    )
    message_create(
        ticket=grinder, actor=supervisor, body="Courier claim opened for 48213.", public=False
    )
    return {"parcels": parcels, "grinder": grinder}


def found(user: User, text: str) -> list[int]:
    response = client_for(user).get(TICKETS, {"search": text})
    assert response.status_code == 200
    return [row["id"] for row in response.json()["results"]]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("parcel", ["parcels"]),  # a word's other form (stemming)
        ("LOST PARCELS", ["parcels"]),
        ("grinder loud", ["grinder"]),  # words anywhere in one message, any order
        ("48213", ["grinder"]),  # an internal note
        ('"espresso grinder"', ["grinder"]),  # a phrase
        ("grinder -loud", []),  # web-search syntax: without
        ("parcel or grinder", ["grinder", "parcels"]),
        ("the", []),  # only stop words: nothing, not everything
        ("parc", []),  # whole words, not substrings
    ],
)
@on_postgresql
def test_postgresql_searches_words_of_subjects_and_messages(
    supervisor: User, tickets: dict[str, Ticket], text: str, expected: list[str]
) -> None:
    assert sorted(found(supervisor, text)) == sorted(tickets[k].pk for k in expected)


@on_postgresql
def test_postgresql_search_uses_the_full_text_index(
    supervisor: User, tickets: dict[str, Ticket]
) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(
            "EXPLAIN SELECT ticket_id FROM tickets_message WHERE "
            "to_tsvector('english'::regconfig, COALESCE(body, '')) "
            "@@ websearch_to_tsquery('english'::regconfig, 'grinder')"
        )
        plan = " ".join(row[0] for row in cursor.fetchall())
    assert "tickets_message_body_fts" in plan


@pytest.mark.parametrize(
    ("text", "expected"),
    [("parc", ["parcels"]), ("GRINDER IS", ["grinder"]), ("claim opened", ["grinder"])],
)
@on_sqlite
def test_sqlite_searches_substrings(
    supervisor: User, tickets: dict[str, Ticket], text: str, expected: list[str]
) -> None:
    assert sorted(found(supervisor, text)) == sorted(tickets[k].pk for k in expected)


@pytest.mark.parametrize("form", ["{ref}", "see {ref} please", "{lower}"])
def test_a_reference_finds_its_ticket_on_every_backend(
    supervisor: User, tickets: dict[str, Ticket], form: str
) -> None:
    ticket = tickets["parcels"]
    text = form.format(ref=ticket.reference, lower=ticket.reference.lower())

    assert found(supervisor, text) == [ticket.pk]


@pytest.mark.parametrize("form", ["{pk}", " #{pk} "])
def test_a_number_alone_finds_its_ticket_on_every_backend(
    supervisor: User, tickets: dict[str, Ticket], form: str
) -> None:
    ticket = tickets["parcels"]

    assert ticket.pk in found(supervisor, form.format(pk=ticket.pk))


def test_search_keeps_to_what_an_agent_may_see(
    agent: User, tickets: dict[str, Ticket], **_: Any
) -> None:
    assert found(agent, "parcel") == []
    assert found(agent, tickets["parcels"].reference) == []
