"""Related rows read in their parent's own query.

``prefetch_related`` costs a query per relation. A page that shows one
ticket with its commitments, follow-ups and ratings can instead read each
relation as a JSON array in a scalar subquery of the ticket's query (an
index lookup each) and get the same model instances back: ``inline`` turns
the arrays into instances and leaves them where a prefetch would, so
``ticket.commitments.all()`` reads no more rows, and templates and
serializers do not know the difference. Worth it for small relations on a
single row; a prefetch stays the better tool for a page of many parents.
"""

import functools
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import (
    DateTimeField,
    DecimalField,
    F,
    Func,
    JSONField,
    ManyToManyField,
    Model,
    OuterRef,
    QuerySet,
    Subquery,
)
from django.db.models.fields.reverse_related import ManyToOneRel
from django.db.models.functions import JSONObject
from django.db.models.query import ModelIterable

PREFIX = "_inline__"  # the annotations' names, out of the way of the row's own


class _DecimalJSONDecoder(json.JSONDecoder):
    """Numbers with a fraction as Decimal: money read back exactly."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, parse_float=Decimal, **kwargs)


# One decoder for every array read (json.loads with a class makes one a call).
_DECODER = _DecimalJSONDecoder()


class _RowsField(JSONField):
    """What ``JSONRows`` reads: a JSON array, parsed by the one decoder."""

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        return _DECODER.decode(value) if isinstance(value, str) else value


class _Embedded(Func):
    """A JSON column inside a JSON object: as itself on PostgreSQL, where a
    jsonb value nests as JSON; parsed first on SQLite, which would nest its
    text as a string."""

    template = "%(expressions)s"

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(compiler, connection, template="JSON(%(expressions)s)", **extra)


_SQLITE = "(SELECT COALESCE(JSON_GROUP_ARRAY(%(row)s), '[]') FROM (%(subquery)s) inline_rows)"


class JSONRows(Subquery):
    """The rows of ``queryset`` (every concrete column) as one JSON array, in
    the queryset's order; an empty array when there are none."""

    template = (
        "(SELECT COALESCE(JSONB_AGG(inline_rows.row), '[]'::jsonb) FROM (%(subquery)s) inline_rows)"
    )

    def __init__(self, queryset: QuerySet[Any], row: Any = None) -> None:
        """Each row is an object of every concrete column, or ``row`` (an
        expression, such as one column) when given."""
        columns = {
            field.attname: _Embedded(F(field.attname))
            if isinstance(field, JSONField)
            else field.attname
            for field in queryset.model._meta.concrete_fields
        }
        self.objects = row is None
        super().__init__(
            queryset.values(row=JSONObject(**columns) if row is None else row),
            output_field=_RowsField(decoder=_DecimalJSONDecoder),
        )

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        # SQLite's objects are text, to be parsed before they nest as JSON.
        row = "JSON(inline_rows.row)" if self.objects else "inline_rows.row"
        return self.as_sql(compiler, connection, template=_SQLITE, row=row, **extra)


def inline(queryset: QuerySet[Any], **relations: QuerySet[Any]) -> QuerySet[Any]:
    """``queryset`` with each named reverse relation read in the same query.
    ``relations`` maps a relation's name (``commitments``) to the rows to
    read, ordered as they should be listed (``Commitment.objects.order_by(
    "created_at")``); the link to the parent is added here."""
    annotations = {}
    for name, related in relations.items():
        link = _relation(queryset.model, name).link  # type: ignore[arg-type]  # a class hashes
        correlated = related.filter(**{link: OuterRef("pk")})
        annotations[PREFIX + name] = JSONRows(correlated)
    annotated = queryset.annotate(**annotations)
    annotated._iterable_class = _InlineIterable
    return annotated


@dataclass(frozen=True)
class _Relation:
    model: type[Model]  # of the related rows
    link: str  # the lookup from a related row to its parent
    cache_name: str  # where prefetch_related leaves the rows
    back: Any  # the related row's foreign key to the parent, when it has one


@functools.cache
def _relation(model: type[Model], name: str) -> _Relation:
    relation = model._meta.get_field(name)
    if isinstance(relation, ManyToOneRel) and relation.one_to_many:
        return _Relation(
            relation.related_model, relation.field.name, relation.cache_name, relation.field
        )
    if isinstance(relation, ManyToManyField):
        return _Relation(relation.related_model, relation.related_query_name(), name, None)
    raise TypeError(f"{model.__name__}.{name} is neither a reverse foreign key nor many-to-many")


class _InlineIterable(ModelIterable):
    def __iter__(self) -> Iterator[Any]:
        names = [n for n in self.queryset.query.annotations if n.startswith(PREFIX)]
        for parent in super().__iter__():
            for name in names:
                attach(parent, name.removeprefix(PREFIX), vars(parent).pop(name))
            yield parent


def attach(parent: Model, name: str, rows: list[dict[str, Any]]) -> None:
    """Leave ``rows`` (as ``JSONRows`` reads them) where ``prefetch_related``
    would have left the relation ``name`` of ``parent``."""
    model = _relation(type(parent), name).model
    fields = model._meta.concrete_fields
    attnames = [field.attname for field in fields]
    children = [
        model.from_db(
            parent._state.db, attnames, [_value(field, row[field.attname]) for field in fields]
        )
        for row in rows
    ]
    attach_instances(parent, name, children)


def attach_instances(
    parent: Model, name: str, children: list[Model], rows: QuerySet[Any] | None = None
) -> None:
    """Leave ``children``, the rows of the relation ``name`` of ``parent``,
    where ``prefetch_related`` would have left them (read from ``rows``, a
    ``Prefetch``'s queryset, when there was one)."""
    relation = _relation(type(parent), name)
    if relation.back is not None:
        for child in children:
            relation.back.set_cached_value(child, parent)
    queryset: Any = _related_rows(parent, name, relation, rows)
    queryset._result_cache = children
    queryset._prefetch_done = True
    parent.__dict__.setdefault("_prefetched_objects_cache", {})[relation.cache_name] = queryset


def _related_rows(
    parent: Model, name: str, relation: _Relation, rows: QuerySet[Any] | None = None
) -> QuerySet[Any]:
    """The queryset ``parent.<name>.all()`` would be. For a reverse foreign
    key built as the related manager builds it, its filter on the parent
    deferred until a caller narrows it further, but without the manager:
    making one and its filtered clone cost a page of fifty messages, each
    with its (mostly empty) attachments, about a millisecond."""
    if relation.back is None:
        return getattr(parent, name).all()
    # The parent's database by the hint, as the related manager reads it.
    base: Any = rows
    queryset: Any = (
        relation.model._default_manager.get_queryset() if base is None else base._chain()
    )
    queryset._add_hints(instance=parent)
    queryset._deferred_filter = (False, (), {relation.back.name: parent})
    queryset._known_related_objects = {relation.back: {parent.pk: parent}}
    return queryset


def _value(field: Any, raw: Any) -> Any:
    if raw is None or isinstance(field, JSONField):
        return raw
    if isinstance(field, DecimalField):
        return Decimal(str(raw)).quantize(Decimal(1).scaleb(-field.decimal_places))
    value = field.to_python(raw)
    if isinstance(field, DateTimeField) and settings.USE_TZ and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)  # SQLite keeps UTC times without their zone
    return value
