"""The ticket search (API ``?search=``): full-text on PostgreSQL, substring on
SQLite (the local demo); on both, a reference finds its ticket."""

from typing import Any

import pytest
from django.db import connection

from accounts.models import User
from tests.factories import TicketFactory
from tests.helpers import client_for
from tickets.models import Ticket
from tickets.selectors import TicketFilters, ticket_list
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
    found = ticket_list(user=supervisor, filters=TicketFilters(search="grinder"))
    with connection.cursor() as cursor:
        # Few rows here: without this, reading them all is cheaper than any index.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        plan = found.explain()
    assert "tickets_ticketsearch_document" in plan
    assert "tickets_message" not in plan


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


# --- Ordering, cursor pages and the count -----------------------------------------------


@pytest.fixture
def ranked(supervisor: User) -> dict[str, Ticket]:
    """An older ticket about a courier in its subject, and a newer one that
    only mentions a courier once, in a message."""
    subject = TicketFactory(actor=supervisor, subject="Courier lost my courier parcel")
    mention = TicketFactory(actor=supervisor, body="A courier came by; the box was empty.")
    TicketFactory(actor=supervisor, body="Nothing to do with it.")
    return {"subject": subject, "mention": mention}


@on_postgresql
def test_search_results_are_newest_first_or_by_relevance(
    supervisor: User, ranked: dict[str, Ticket]
) -> None:
    api = client_for(supervisor)
    by_date = api.get(TICKETS, {"search": "courier"}).json()["results"]
    by_relevance = api.get(TICKETS, {"search": "courier", "ordering": "relevance"}).json()

    assert [row["id"] for row in by_date] == [ranked["mention"].pk, ranked["subject"].pk]
    assert [row["id"] for row in by_relevance["results"]] == [
        ranked["subject"].pk,
        ranked["mention"].pk,
    ]
    assert (by_relevance["count"], by_relevance["count_is_estimate"]) == (2, False)


@on_sqlite
def test_sqlite_orders_relevance_by_date(supervisor: User, ranked: dict[str, Ticket]) -> None:
    response = client_for(supervisor).get(TICKETS, {"search": "courier", "ordering": "relevance"})

    assert [row["id"] for row in response.json()["results"]] == [
        ranked["mention"].pk,
        ranked["subject"].pk,
    ]


@pytest.mark.parametrize(
    ("params", "code", "says"),
    [
        # Well-formed, but relevance needs a search, and numbered pages: 422.
        ({"ordering": "relevance"}, 422, "relevance orders search results: give a search too"),
        ({"ordering": "relevance", "search": " "}, 422, "give a search too"),
        (
            {"ordering": "relevance", "search": "courier", "pagination": "cursor"},
            422,
            "Search results by relevance come in numbered pages",
        ),
        ({"ordering": "best"}, 400, "Unknown ordering 'best'; use one of"),
    ],
)
def test_an_ordering_that_cannot_apply_is_refused_with_why(
    supervisor: User, params: dict[str, str], code: int, says: str
) -> None:
    response = client_for(supervisor).get(TICKETS, params)

    assert response.status_code == code
    assert says in response.json()["errors"]["ordering"][0]


def test_search_results_come_by_cursor_newest_first(supervisor: User) -> None:
    matching = [TicketFactory(actor=supervisor, body=f"Courier note {n}.") for n in range(5)]
    TicketFactory(actor=supervisor, body="Nothing to do with it.")
    api = client_for(supervisor)

    seen: list[int] = []
    page = api.get(TICKETS, {"search": "courier", "pagination": "cursor", "page_size": "2"}).json()
    while True:
        assert "count" not in page
        assert "count_is_estimate" not in page
        seen += [row["id"] for row in page["results"]]
        if not page["next"]:
            break
        page = api.get(page["next"]).json()

    assert seen == [t.pk for t in reversed(matching)]


@on_postgresql
def test_a_search_counts_up_to_the_limit_then_estimates(
    supervisor: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("tickets.api.views.SEARCH_COUNT_LIMIT", 3)
    for n in range(5):
        TicketFactory(actor=supervisor, body=f"Courier note {n}.")
    api = client_for(supervisor)

    many = api.get(TICKETS, {"search": "courier", "page_size": "2"}).json()
    few = api.get(TICKETS, {"search": "note 1", "page_size": "2"}).json()
    everything = api.get(TICKETS, {"page_size": 2}).json()

    # Past the limit: at least the limit, PostgreSQL's estimate if higher.
    assert many["count"] >= 3
    assert many["count_is_estimate"] is True
    assert len(many["results"]) == 2
    assert many["next"] is not None
    assert (few["count"], few["count_is_estimate"]) == (1, False)
    assert (everything["count"], everything["count_is_estimate"]) == (5, False)


@on_postgresql
@pytest.mark.parametrize("past_the_limit", [False, True])
def test_a_search_costs_a_fixed_number_of_queries(
    supervisor: User,
    monkeypatch: pytest.MonkeyPatch,
    django_assert_num_queries: Any,
    past_the_limit: bool,
) -> None:
    monkeypatch.setattr("tickets.api.views.SEARCH_COUNT_LIMIT", 2 if past_the_limit else 100)
    for n in range(4):
        TicketFactory(actor=supervisor, body=f"Courier note {n}.")
    api = client_for(User.objects.get(pk=supervisor.pk))

    # Permissions, the capped count, the page; past the limit, the estimate.
    with django_assert_num_queries(4 if past_the_limit else 3):
        response = api.get(TICKETS, {"search": "courier"})

    assert len(response.json()["results"]) == 4
