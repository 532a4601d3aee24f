"""New rows written by an INSERT built once a process per model.

Django builds and compiles a model's INSERT afresh on every ``save()``, and
binds its values on the client, so PostgreSQL parses it afresh too. Its SQL
never changes, only its values: ``inserted(row)`` builds it once a process
for each model and database, and runs it as a prepared statement where
compiled queries are (``core.prepared``). A grant writes four rows this way.

It does what ``save()`` does for a new row whose primary key the database
assigns: the fields' ``pre_save`` (``auto_now_add``, the clock's), their
values prepared for the database, the key and the other returned columns
set on the instance, which is then saved (``_state``). Anything else it
hands to ``save()``: a row with its key given or already saved, a model
with parents or with ``pre_save``/``post_save`` receivers, or whose INSERT
is not one plain value a field (a database default), a value that is an
expression. A model whose ``save()`` does more than refuse changes to a
saved row must not be written with it.
"""

import threading
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from django.db import connections, router, transaction
from django.db.models import Field, Model, signals
from django.db.models.sql import InsertQuery

from core.prepared import preparing

M = TypeVar("M", bound=Model)


@dataclass(frozen=True)
class _Insert:
    sql: str
    fields: tuple["Field[Any, Any]", ...]  # the values, in the SQL's order
    # The columns the database returns (the key), as expressions of their table.
    returning: tuple[tuple["Field[Any, Any]", Any], ...]


# By database and model: the INSERT, or None for a model left to save().
_built: dict[tuple[str, type[Model]], _Insert | None] = {}
_lock = threading.Lock()


def inserted(row: M, *, using: str | None = None) -> M:
    """``row``, a new one, written; as ``row.save(using=using)``."""
    model = type(row)
    using = using or router.db_for_write(model, instance=row)
    if (
        not row._state.adding
        or row.pk is not None
        or model._meta.parents
        or signals.pre_save.has_listeners(model)
        or signals.post_save.has_listeners(model)
    ):
        row.save(using=using)
        return row
    connection = connections[using]
    key = (using, model)
    if key not in _built:
        with _lock:
            if key not in _built:
                _built[key] = _build(connection, model)
    insert = _built[key]
    if insert is None:
        row.save(using=using)
        return row
    cast(Any, row)._prepare_related_fields_for_save(operation_name="save")
    values = [field.pre_save(row, add=True) for field in insert.fields]
    if any(hasattr(value, "resolve_expression") for value in values):
        row.save(using=using)  # an expression: its SQL is its own
        return row
    params = [
        field.get_db_prep_save(value, connection=connection)
        for field, value in zip(insert.fields, values, strict=True)
    ]
    # As save(): a failed INSERT leaves the transaction to be rolled back.
    with transaction.mark_for_rollback_on_error(using), preparing(connection).cursor() as cursor:
        cursor.execute(insert.sql, params)
        returned = cursor.fetchone()
    for value, (field, expression) in zip(returned, insert.returning, strict=True):
        for convert in connection.ops.get_db_converters(expression) + field.get_db_converters(
            connection
        ):
            value = convert(value, expression, connection)
        setattr(row, field.attname, value)
    row._state.adding = False
    row._state.db = using
    return row


def _build(connection: Any, model: type[Model]) -> _Insert | None:
    """The model's INSERT of every concrete field but the key, returning
    what the database sets, as ``save()`` builds it; None where that is not
    one plain value a field (a database default, a field's own placeholder)
    or the database does not return the key."""
    meta = model._meta
    if meta.auto_field is None or not connection.features.can_return_columns_from_insert:
        return None
    fields = tuple(
        field
        for field in meta.local_concrete_fields
        if field is not meta.auto_field and not field.generated
    )
    returning = tuple(meta.db_returning_fields)
    query = InsertQuery(model)
    query.insert_values(fields, [model()])
    compiler = query.get_compiler(connection=connection)
    compiler.returning_fields = returning
    [(sql, params)] = compiler.as_sql()
    if len(params) != len(fields) or sql.count("%s") != len(fields):
        return None
    return _Insert(sql, fields, tuple((field, field.get_col(meta.db_table)) for field in returning))
