"""Subqueries and whole queries compiled once a process (core.compiled):
the same rows as those built afresh, at any moment; built once; and what
cannot be swapped safely, or a use nested in another query, refused
rather than guessed."""

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.db.models import Count, Exists, IntegerField, OuterRef, Prefetch, Subquery
from django.test import override_settings

from accounts.models import Customer, User
from core.compiled import CompiledFamily, CompiledQuery
from tests.factories import CustomerFactory, StaffFactory, TicketFactory
from tickets.models import Commitment, Ticket, TicketEvent

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
WEEK, MONTH = timedelta(days=7), timedelta(days=30)


def _count(tickets: Any) -> Subquery:
    rows = tickets.order_by().values("customer_id").annotate(n=Count("pk")).values("n")
    return Subquery(rows, output_field=IntegerField())


def figures(customer: Any, now: datetime) -> Mapping[str, Any]:
    tickets = Ticket.objects.filter(customer_id=customer)
    return {
        "week": _count(tickets.filter(created_at__gte=now - WEEK, created_at__lt=now)),
        "month": _count(tickets.filter(created_at__gte=now - MONTH, created_at__lt=now)),
        "all": _count(tickets),
    }


@pytest.fixture
def customer(agent: User) -> Customer:
    customer = CustomerFactory(email="compiled@example.com")
    for days_ago in (1, 3, 10, 20, 45):
        ticket = TicketFactory(actor=agent, customer_email=customer.email)
        Ticket.objects.filter(pk=ticket.pk).update(created_at=NOW - timedelta(days=days_ago))
    return customer


def _read(rows: Any) -> list[tuple[int | None, ...]]:
    return [(row.week, row.month, row.all) for row in rows]


def test_the_rows_are_those_of_the_expressions_built_afresh_at_any_moment(
    customer: Customer, agent: User
) -> None:
    family = CompiledFamily(build=figures, before=(WEEK, MONTH))
    other = CustomerFactory(email="other@example.com")  # no tickets: NULLs
    seen = []
    for days in (0, 5, 15, 22, 40):
        now = NOW + timedelta(days=days)
        customers = Customer.objects.filter(pk__in=[customer.pk, other.pk]).order_by("pk")
        compiled = _read(customers.annotate(**family.annotations("pk", now=now)))
        afresh = _read(customers.annotate(**figures(OuterRef("pk"), now)))
        assert compiled == afresh, days
        seen.append(compiled[0])
        # On tickets, the outer column is the customer's.
        tickets = Ticket.objects.filter(customer=customer).order_by("pk")
        on_tickets = _read(tickets.annotate(**family.annotations("customer_id", now=now)))
        assert on_tickets == _read(tickets.annotate(**figures(OuterRef("customer_id"), now)))
    # The moment moved both windows (no rows in a window: NULL, as afresh).
    assert seen == [(2, 4, 5), (1, 4, 5), (None, 3, 5), (None, 2, 5), (None, None, 5)]


def test_a_grouped_query_groups_by_the_outer_column(customer: Customer) -> None:
    family = CompiledFamily(build=figures, before=(WEEK, MONTH))
    rows: Any = Customer.objects.annotate(tickets_counted=Count("tickets")).annotate(
        **family.annotations("pk", now=NOW)
    )
    row = rows.get(pk=customer.pk)
    assert (row.tickets_counted, row.week, row.month, row.all) == (5, 2, 4, 5)


def test_the_family_is_built_once_a_process(customer: Customer) -> None:
    built = []

    def counted(customer: Any, now: datetime) -> Mapping[str, Any]:
        built.append(now)
        return figures(customer, now)

    family = CompiledFamily(build=counted, before=(WEEK, MONTH))
    for days in range(5):
        list(Customer.objects.annotate(**family.annotations("pk", now=NOW + timedelta(days))))
    # Once for the names and types, twice to compile (the check's second moment).
    assert len(built) == 3
    assert NOW not in built


def test_a_moment_put_in_a_way_it_cannot_swap_is_refused(customer: Customer) -> None:
    def tomorrow(customer: Any, now: datetime) -> Mapping[str, Any]:
        # A day after the moment: not ``now - before[i]``, so not swappable.
        later = Ticket.objects.filter(customer_id=customer, created_at__lt=now + timedelta(days=1))
        return {"week": _count(later)}

    family = CompiledFamily(build=tomorrow, before=(WEEK,))
    with pytest.raises(ImproperlyConfigured, match="'week' puts its moment into the SQL"):
        list(Customer.objects.annotate(**family.annotations("pk", now=NOW)))


def test_a_family_with_a_moment_needs_one(customer: Customer) -> None:
    family = CompiledFamily(build=figures, before=(WEEK, MONTH))
    with pytest.raises(ImproperlyConfigured, match="as of a moment"):
        list(Customer.objects.annotate(**family.annotations("pk")))


def test_inside_another_query_it_refuses_rather_than_risk_its_aliases(
    customer: Customer,
) -> None:
    family = CompiledFamily(build=figures, before=(WEEK, MONTH))
    annotated: Any = Customer.objects.annotate(**family.annotations("pk", now=NOW))
    busy = annotated.filter(pk=OuterRef("customer_id"), all__gte=2)
    with pytest.raises(ImproperlyConfigured, match="not inside another query"):
        list(Ticket.objects.filter(Exists(busy)))


# --- whole queries -------------------------------------------------------------------


def _tickets_of(mine: bool, *, customer_id: int, assignee_id: int, now: datetime) -> Any:
    tickets = Ticket.objects.filter(customer_id=customer_id, created_at__gte=now - MONTH)
    if mine:  # the shape: a filter more
        tickets = tickets.filter(assignee_id=assignee_id)
    return tickets.select_related("customer").order_by("created_at", "id")


def test_a_compiled_query_gives_the_rows_of_the_query_built_afresh(
    customer: Customer, agent: User
) -> None:
    other = StaffFactory()
    first_two = (
        Ticket.objects.filter(customer=customer).order_by("pk").values_list("pk", flat=True)[:2]
    )
    Ticket.objects.filter(pk__in=list(first_two)).update(assignee=other)
    query = CompiledQuery(build=_tickets_of, before={"now": (MONTH,)})
    for mine in (False, True):
        for days in (0, 15, 40):
            for assignee in (agent, other):
                values: dict[str, Any] = {
                    "customer_id": customer.pk,
                    "assignee_id": assignee.pk,
                    "now": NOW + timedelta(days=days),
                }
                rows = query.rows(mine, **values)
                afresh = list(_tickets_of(mine, **values))
                assert [t.pk for t in rows] == [t.pk for t in afresh], (mine, days)
                assert all(t.customer.email == customer.email for t in rows)  # select_related
    # Two ids of one type each find their own slots: with them swapped (the
    # user's id as the customer's), the rows of the query built so afresh.
    user = agent if agent.pk != customer.pk else other
    swapped: dict[str, Any] = {"customer_id": user.pk, "assignee_id": customer.pk, "now": NOW}
    rows = query.rows(True, **swapped)
    assert [t.pk for t in rows] == [t.pk for t in _tickets_of(True, **swapped)]
    assert {t.customer_id for t in rows} <= {user.pk}


def test_a_query_whose_sql_follows_its_values_is_refused() -> None:
    def by_value(shape: None, *, days: int) -> Any:
        return Ticket.objects.all()[: 1 + abs(days) % 3]  # LIMIT is written into the SQL

    with pytest.raises(ImproperlyConfigured, match="depends on its values"):
        CompiledQuery(build=by_value).rows(None, days=3)


def test_a_day_is_swapped_as_a_moment_is(customer: Customer) -> None:
    def since(shape: None, *, customer_id: int, day: date) -> Any:
        return Ticket.objects.filter(customer_id=customer_id, created_at__date__gte=day)

    query = CompiledQuery(build=since)
    for days_ago in (0, 2, 5, 15, 60):
        day = (NOW - timedelta(days=days_ago)).date()
        rows = query.rows(None, customer_id=customer.pk, day=day)
        afresh = since(None, customer_id=customer.pk, day=day)
        assert sorted(t.pk for t in rows) == sorted(t.pk for t in afresh), days_ago
    assert (
        len(query.rows(None, customer_id=customer.pk, day=(NOW - timedelta(days=60)).date())) == 5
    )


def test_a_compiled_query_takes_ids_text_days_and_moments_only() -> None:
    query = CompiledQuery(
        build=lambda shape, *, flag: Ticket.objects.filter(is_repeat_failure=flag)
    )
    with pytest.raises(TypeError, match="ints, strings, days and moments"):
        query.rows(None, flag=True)


def _held_by(shape: None, *, assignee_id: int | None) -> Any:
    if assignee_id is None:
        return Ticket.objects.filter(assignee__isnull=True)
    return Ticket.objects.filter(assignee_id=assignee_id)


def test_an_absent_id_is_built_as_none_and_kept_apart(agent: User) -> None:
    held = TicketFactory(actor=agent)
    held.assignee = agent
    held.save()
    unheld = TicketFactory(actor=agent)
    unheld.assignee = None
    unheld.save()
    query = CompiledQuery(build=_held_by)

    for _ in range(2):  # and again, from the compiled shapes
        assert [t.pk for t in query.rows(None, assignee_id=agent.pk)] == [held.pk]
        assert [t.pk for t in query.rows(None, assignee_id=None)] == [unheld.pk]


def _one_with_history(shape: None, *, ticket_id: int) -> Any:
    events = Prefetch("events", queryset=TicketEvent.objects.select_related("actor"))
    return Ticket.objects.filter(pk=ticket_id).prefetch_related(events, "commitments")


def test_the_prefetches_of_one_row_run_compiled_with_its_id(
    customer: Customer, agent: User, django_assert_num_queries: Any
) -> None:
    first, second = Ticket.objects.filter(customer=customer).order_by("pk")[:2]
    Commitment.objects.create(
        ticket=second, promise="A call back by Friday", due_at=NOW, made_by=agent
    )
    query = CompiledQuery(build=_one_with_history)
    for ticket in (first, second, first):
        afresh = _one_with_history(None, ticket_id=ticket.pk).get()
        with django_assert_num_queries(3):  # the ticket, its events, its commitments
            (row,) = query.rows(None, ticket_id=ticket.pk)
        with django_assert_num_queries(0):  # what a prefetch leaves, where it leaves it
            events = list(row.events.all())
            assert [e.pk for e in events] == [e.pk for e in afresh.events.all()]
            assert [(e.actor.username, e.ticket is row) for e in events] == [
                (e.actor.username, True) for e in afresh.events.all()
            ]
            assert [c.promise for c in row.commitments.all()] == [
                c.promise for c in afresh.commitments.all()
            ]
        # Narrowed further, a relation still asks the database for this
        # ticket's own, as its Prefetch reads them (the actor with each).
        narrowed = list(row.events.filter(actor=agent))
        assert narrowed == list(afresh.events.filter(actor=agent))
        with django_assert_num_queries(0):
            assert {e.actor.username for e in narrowed} <= {agent.username}


def test_prefetches_of_many_rows_or_deeper_lookups_are_left_to_django(
    customer: Customer,
) -> None:
    def many(shape: None, *, customer_id: int) -> Any:
        return (
            Ticket.objects.filter(customer_id=customer_id).order_by("pk").prefetch_related("events")
        )

    def deeper(shape: None, *, ticket_id: int) -> Any:
        return Ticket.objects.filter(pk=ticket_id).prefetch_related("events__actor")

    def listed(shape: None, *, ticket_id: int) -> Any:
        history = Prefetch("events", queryset=TicketEvent.objects.all(), to_attr="history")
        return Ticket.objects.filter(pk=ticket_id).prefetch_related(history)

    rows = CompiledQuery(build=many).rows(None, customer_id=customer.pk)
    assert [len(row.events.all()) for row in rows] == [
        len(t.events.all()) for t in many(None, customer_id=customer.pk)
    ]
    (row,) = CompiledQuery(build=deeper).rows(None, ticket_id=rows[0].pk)
    assert [e.actor_id for e in row.events.all()] == [e.actor_id for e in rows[0].events.all()]
    assert CompiledQuery(build=many).rows(None, customer_id=-5) == []
    (row,) = CompiledQuery(build=listed).rows(None, ticket_id=rows[0].pk)
    assert [e.pk for e in row.history] == [e.pk for e in rows[0].events.all()]


def _prepared_statements() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [statement for (statement,) in cursor.fetchall()]


@pytest.fixture
def kept_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    """The connection kept between requests, as production's (CONN_MAX_AGE=60)."""
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 60)


@pytest.mark.usefixtures("kept_connection")
def test_a_compiled_query_is_prepared_on_a_kept_connection(customer: Customer) -> None:
    query = CompiledQuery(build=_one_with_history)
    ticket = Ticket.objects.filter(customer=customer).first()
    assert ticket is not None

    before = _prepared_statements()

    (row,) = query.rows(None, ticket_id=ticket.pk)

    prepared = [statement for statement in _prepared_statements() if statement not in before]
    assert any('FROM "tickets_ticket"' in statement for statement in prepared), prepared
    assert any('FROM "tickets_ticketevent"' in statement for statement in prepared), prepared
    assert row.pk == ticket.pk


@pytest.mark.usefixtures("kept_connection")
@override_settings(DATABASE_TRANSACTION_POOLING=True)
def test_behind_a_transaction_pooler_nothing_is_prepared(customer: Customer) -> None:
    # A pooler's next transaction may run on a server connection that never saw it.
    ticket = Ticket.objects.filter(customer=customer).first()
    assert ticket is not None

    before = _prepared_statements()

    (row,) = CompiledQuery(build=_one_with_history).rows(None, ticket_id=ticket.pk)

    assert _prepared_statements() == before
    assert row.pk == ticket.pk


def test_a_connection_opened_for_one_request_prepares_nothing(
    customer: Customer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # CONN_MAX_AGE=0: preparing would cost a round trip for a plan nobody reuses.
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 0)
    ticket = Ticket.objects.filter(customer=customer).first()
    assert ticket is not None

    before = _prepared_statements()

    CompiledQuery(build=_one_with_history).rows(None, ticket_id=ticket.pk)

    assert _prepared_statements() == before
