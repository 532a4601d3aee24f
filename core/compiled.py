"""Queries whose SQL is built and compiled once a process.

Django builds and compiles every query afresh, every time. For the queries
every request makes (the caller with their permissions) and the ticket
page's (the ticket with a dozen correlated subqueries of the customer's
trust) that cost more CPU than PostgreSQL spent running them, yet their
SQL never changes: only the ids and the moment in their parameters do.

``CompiledFamily``: correlated subqueries (annotations) compiled once per
outer column, each use with its own moment and the moments the family
derives from it (a year before, a quarter before):

    FIGURES = CompiledFamily(build=figure_annotations, before=(YEAR, QUARTER))
    tickets.annotate(**FIGURES.annotations("customer_id", now=now))

``CompiledQuery``: a whole query compiled once per shape, run with the
request's ids and moment (below).

Both build with sentinel values, build again with a second set, and refuse
(``ImproperlyConfigured``, at the first use) unless the SQL is the same and
the parameters differ exactly where the sentinels sit: a value that changes
the SQL in any other way cannot be swapped. A family nested inside another
query, whose aliases Django renames, refuses to compile rather than risk an
inner alias capturing the outer column.
"""

import copy
import functools
import threading
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured
from django.db import connections
from django.db.models import Expression, Field, Model, OuterRef, Prefetch, QuerySet
from django.db.models.fields.reverse_related import ManyToOneRel
from django.db.models.query import prefetch_related_objects

from core.inline import attach_instances
from core.prepared import preparing

# Two moments no real row or parameter carries (odd microseconds, 1901).
SENTINELS = (
    datetime(1901, 2, 3, 4, 5, 6, 123457, tzinfo=UTC),
    datetime(1901, 3, 4, 5, 6, 7, 234571, tzinfo=UTC),
)


# Where a value goes among the parameters: (position, the value's name,
# how long before it: a moment less a year, say).
_Slot = tuple[int, str, timedelta]


@dataclass(frozen=True)
class _Member:
    """One annotation's SQL and its parameters, with the moment's slots."""

    sql: str
    params: tuple[Any, ...]
    slots: tuple[_Slot, ...]


class CompiledFamily:
    def __init__(
        self,
        *,
        build: Callable[[OuterRef, datetime], Mapping[str, Any]],
        before: Sequence[timedelta] = (),
    ) -> None:
        self.build = build
        self.before = {"now": (timedelta(0), *before)}
        self._compiled: dict[tuple[str, str, str], dict[str, _Member]] = {}
        self._shapes: dict[str, dict[str, Field[Any, Any]]] = {}
        self._lock = threading.Lock()

    def annotations(
        self, column: str, *, now: datetime | None = None
    ) -> dict[str, "CompiledAnnotation"]:
        """The family as annotations of a query whose rows hold ``column``, as
        of ``now`` (for a family that puts a moment in its SQL)."""
        return {
            name: CompiledAnnotation(self, name, column, now, output_field)
            for name, output_field in self._shape(column).items()
        }

    def _shape(self, column: str) -> dict[str, "Field[Any, Any]"]:
        """The members' names and types, from the builder once a column
        (unresolved: no database needed yet)."""
        shape = self._shapes.get(column)
        if shape is None:
            built = self.build(OuterRef(column), SENTINELS[0])
            shape = {name: expression.output_field for name, expression in built.items()}
            self._shapes[column] = shape
        return shape

    def member(self, connection: Any, model: type[Model], column: str, name: str) -> _Member:
        key = (connection.alias, model._meta.label, column)
        compiled = self._compiled.get(key)
        if compiled is None:
            with self._lock:
                compiled = self._compiled.get(key) or self._compile(connection, model, column)
                self._compiled[key] = compiled
        return compiled[name]

    def _compile(self, connection: Any, model: type[Model], column: str) -> dict[str, _Member]:
        first, second = (self._compile_at(connection, model, column, s) for s in SENTINELS)
        members = {}
        for name, (sql, params) in first.items():
            slots = _slots(connection, params, {"now": SENTINELS[0]}, self.before)
            if not _swaps_exactly(
                connection, (sql, params), second[name], slots, {"now": SENTINELS[1]}
            ):
                raise ImproperlyConfigured(
                    f"The annotation {name!r} puts its moment into the SQL in a way "
                    "CompiledFamily cannot swap: compile it per query."
                )
            members[name] = _Member(sql, tuple(params), tuple(slots))
        return members

    def _compile_at(
        self, connection: Any, model: type[Model], column: str, moment: datetime
    ) -> dict[str, tuple[str, list[Any]]]:
        query = model._default_manager.annotate(**self.build(OuterRef(column), moment)).query
        compiler = query.get_compiler(connection=connection)
        compiled = {}
        for name, expression in query.annotations.items():
            sql, params = compiler.compile(expression)
            compiled[name] = (sql, list(params))
        return compiled


def _adapt(connection: Any, moment: datetime) -> Any:
    """A moment as a DateTimeField lookup passes it to this database."""
    return connection.ops.adapt_datetimefield_value(moment)


def _field(model: type[Model], column: str) -> "Field[Any, Any]":
    return model._meta.pk if column == "pk" else model._meta.get_field(column)  # type: ignore[return-value]


class CompiledAnnotation(Expression):
    """One member of a ``CompiledFamily`` in a query: its SQL, the outer
    column pointed at the query's own table, the moment's slots filled."""

    def __init__(
        self,
        family: CompiledFamily,
        name: str,
        column: str,
        now: datetime | None,
        output_field: "Field[Any, Any]",
    ) -> None:
        self.family, self.name, self.column, self.now = family, name, column, now
        self.model: type[Model] | None = None
        self.alias: str | None = None
        super().__init__(output_field=output_field)

    def resolve_expression(self, query: Any = None, *args: Any, **kwargs: Any) -> Any:
        resolved = self.copy()
        resolved.model = query.model
        resolved.alias = query.get_initial_alias()
        return resolved

    def relabeled_clone(self, change_map: Mapping[str, str]) -> Any:
        clone = self.copy()
        clone.alias = change_map.get(self.alias, self.alias)  # type: ignore[arg-type]
        return clone

    def as_sql(self, compiler: Any, connection: Any) -> Any:
        if self.model is None:
            raise ImproperlyConfigured(f"{self.name} is compiled before it was resolved.")
        if self.alias != self.model._meta.db_table:
            raise ImproperlyConfigured(
                f"{self.name} is compiled once for a top-level query of "
                f"{self.model._meta.label}, not inside another query."
            )
        member = self.family.member(connection, self.model, self.column, self.name)
        if member.slots and self.now is None:
            raise ImproperlyConfigured(f"{self.name} is computed as of a moment: give now.")
        return member.sql, _filled(connection, member.params, member.slots, {"now": self.now})

    def get_group_by_cols(self) -> list[Any]:
        # Grouped, the query groups by the outer column the subquery reads.
        if self.model is None:
            raise ImproperlyConfigured(f"{self.name} is grouped before it was resolved.")
        return [_field(self.model, self.column).get_col(self.alias)]  # type: ignore[arg-type]


# --- whole queries -------------------------------------------------------------------


@dataclass(frozen=True)
class _Prepared:
    queryset: QuerySet[Any]  # built with the first sentinels; never run itself
    compiler: Any  # its compiler, set up (select, klass_info) by compiling it once
    sql: str
    params: tuple[Any, ...]
    slots: tuple[tuple[int, str, timedelta], ...]  # (position, value's name, before)
    # The queryset's prefetches, each compiled apart (run with its one
    # parent's id), when they are all of reverse foreign keys; else None and
    # Django runs them, as it runs a queryset's.
    prefetches: "dict[str, tuple[CompiledQuery, QuerySet[Any] | None]] | None"
    lookups: tuple[Any, ...]


class CompiledQuery:
    """A query of fixed shape, built and compiled once a process per shape,
    run with the request's values in its parameters.

        PAGE = CompiledQuery(build=lambda shape, ticket_id, now: ..., before={"now": (YEAR,)})
        rows = PAGE.rows(shape, ticket_id=7, now=clock.now())

    ``build(shape, **values)`` returns the queryset; its SQL may depend on
    ``shape`` (hashable, say whether the caller sees every ticket) and must
    not depend on the values, which go into the SQL only as parameters
    equal to them (or, for a moment, to it less ``before[name][i]``). A
    value may be None, an id the row may lack: the build gets None, and
    which values are None is part of the shape. The first build checks
    that against a second set of sentinels and refuses a query that does
    otherwise. The rows come back as the queryset would
    give them (its select_related, prefetches and ``core.inline``
    relations); a compiled query cannot be filtered further.
    """

    def __init__(
        self,
        *,
        build: Callable[..., QuerySet[Any]],
        before: Mapping[str, Sequence[timedelta]] | None = None,
    ) -> None:
        self.build = build
        self.before = {name: (timedelta(0), *offsets) for name, offsets in (before or {}).items()}
        self._prepared: dict[tuple[Any, ...], _Prepared] = {}
        self._lock = threading.Lock()

    def forget(self) -> None:
        """Build again on the next use (what the build reads has changed)."""
        with self._lock:
            self._prepared.clear()

    def rows(self, shape: Hashable, **values: int | str | date | None) -> list[Any]:
        # The values' types in the key: an absent (None) value builds apart.
        kinds = tuple(sorted((name, type(value).__name__) for name, value in values.items()))
        key = (shape, kinds)
        prepared = self._prepared.get(key)
        if prepared is None:
            with self._lock:
                prepared = self._prepared.get(key) or self._prepare(shape, values)
                self._prepared[key] = prepared
        found = list(self._bound(prepared, values))
        if prepared.prefetches is not None and found:
            if len(found) == 1:
                parent = found[0]
                for name, (children, rows) in prepared.prefetches.items():
                    found_children = children.rows(None, parent_id=parent.pk)
                    attach_instances(parent, name, found_children, rows)
            else:
                prefetch_related_objects(found, *prepared.lookups)
        return found

    def _bound(self, prepared: _Prepared, values: Mapping[str, Any]) -> QuerySet[Any]:
        connection = connections[prepared.queryset.db]
        params = _filled(connection, prepared.params, prepared.slots, values)
        compiler = copy.copy(prepared.compiler)
        # The connection of this thread, not the one that compiled it.
        compiler.connection, compiler.using = preparing(connection), prepared.queryset.db
        compiler.as_sql = lambda *args, **kwargs: (prepared.sql, tuple(params))
        queryset = prepared.queryset._chain()  # type: ignore[attr-defined]
        queryset.query.get_compiler = lambda *args, **kwargs: compiler
        return queryset

    def _prepare(self, shape: Hashable, values: Mapping[str, Any]) -> _Prepared:
        first, second = (
            {
                name: None if value is None else _sentinel(value, n, index, name)
                for index, (name, value) in enumerate(sorted(values.items()))
            }
            for n in (0, 1)
        )
        queryset = self.build(shape, **first)
        lookups = tuple(queryset._prefetch_related_lookups)  # type: ignore[attr-defined]
        prefetches = _compiled_prefetches(queryset.model, lookups)
        if prefetches is not None:
            queryset = queryset.prefetch_related(None)  # run apart, below
        compiler = queryset.query.get_compiler(using=queryset.db)
        sql, params = compiler.as_sql()
        other_sql, other_params = (
            self.build(shape, **second).query.get_compiler(using=queryset.db).as_sql()
        )
        connection = connections[queryset.db]
        given = {name: sentinel for name, sentinel in first.items() if sentinel is not None}
        slots = _slots(connection, list(params), given, self.before)
        if not _swaps_exactly(connection, (sql, params), (other_sql, other_params), slots, second):
            raise ImproperlyConfigured(
                "The query's SQL depends on its values other than through their "
                "parameters: build it per request, or make what it depends on its shape."
            )
        return _Prepared(queryset, compiler, sql, tuple(params), tuple(slots), prefetches, lookups)


def _compiled_prefetches(
    model: type[Model], lookups: Sequence[Any]
) -> dict[str, tuple[CompiledQuery, QuerySet[Any] | None]] | None:
    """Each of the prefetches ``lookups`` as a query of its own compiled
    once, run with the one parent's id (and the ``Prefetch``'s queryset, if
    any, to leave as the relation's): a prefetch built and compiled per
    request cost the ticket page more than a millisecond each. None unless
    every lookup is a reverse foreign key of ``model`` to its primary key
    (no deeper lookup, no ``to_attr``, no slice), to leave the rest to Django."""
    if not lookups:
        return None
    compiled = {}
    for lookup in lookups:
        prefetch = lookup if isinstance(lookup, Prefetch) else Prefetch(lookup)
        name = prefetch.prefetch_through
        try:
            relation = None if "__" in name else model._meta.get_field(name)
        except FieldDoesNotExist:  # a related manager's own name (foo_set), say
            return None
        if prefetch.to_attr or not (isinstance(relation, ManyToOneRel) and relation.one_to_many):
            return None
        rows = prefetch.queryset
        if not relation.field.target_field.primary_key or (
            rows is not None and rows.query.is_sliced
        ):
            return None
        build = functools.partial(
            _children,
            relation.related_model._default_manager.all() if rows is None else rows,
            relation.field.attname,
        )
        compiled[name] = (CompiledQuery(build=build), rows)
    return compiled


def _children(rows: QuerySet[Any], link: str, shape: None, *, parent_id: int) -> QuerySet[Any]:
    return rows.filter(**{link: parent_id})


def _sentinel(value: Any, n: int, index: int, name: str) -> Any:
    """A value of ``value``'s type that no real row or constant carries,
    the ``n``th of the value ``index`` (each value its own)."""
    if isinstance(value, datetime):
        return SENTINELS[n] + timedelta(seconds=index)
    if isinstance(value, date):  # a day: the sentinel moments' days, a day apart a value
        return SENTINELS[n].date() + timedelta(days=index)
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise TypeError(f"{name}: a compiled query takes ints, strings, days and moments.")
    if isinstance(value, int):
        return -1_999_000_001 - 2 * index - n  # negative ids: none; within int4
    return f"\x1fcompiled-{name}-{n}"


def _param(connection: Any, value: Any, offset: timedelta) -> Any:
    """``value`` (less ``offset``, for a moment) as a parameter of this database."""
    if isinstance(value, datetime):
        return _adapt(connection, value - offset)
    if isinstance(value, date):
        return connection.ops.adapt_datefield_value(value)
    return value


def _slots(
    connection: Any,
    params: list[Any],
    sentinels: Mapping[str, Any],
    before: Mapping[str, Sequence[timedelta]],
) -> list[_Slot]:
    """Where each sentinel (or a moment less one of its ``before``) sits."""
    wanted = {}
    for name, sentinel in sentinels.items():
        for offset in before.get(name, (timedelta(0),)):
            wanted[_param(connection, sentinel, offset)] = (name, offset)
    return [
        (position, *wanted[value])
        for position, value in enumerate(params)
        if isinstance(value, int | str | date) and value in wanted
    ]


def _swaps_exactly(
    connection: Any,
    first: tuple[str, Any],
    second: tuple[str, Any],
    slots: list[_Slot],
    second_sentinels: Mapping[str, Any],
) -> bool:
    """The check that makes the swap safe: built with the second sentinels,
    the SQL is the same and the parameters differ only at the slots, by
    exactly the sentinels there."""
    expected = _filled(connection, first[1], slots, second_sentinels)
    return second[0] == first[0] and list(second[1]) == expected


def _filled(
    connection: Any, params: Sequence[Any], slots: Sequence[_Slot], values: Mapping[str, Any]
) -> list[Any]:
    """``params`` with each slot's value in it."""
    filled = list(params)
    for position, name, offset in slots:
        filled[position] = _param(connection, values[name], offset)
    return filled
