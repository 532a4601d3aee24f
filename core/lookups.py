"""ORM lookups Django does not ship."""

from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Lookup
from django.db.models.sql.compiler import SQLCompiler


class AnyOf(Lookup):
    """``lhs = ANY(rhs)``, with ``rhs`` an array (PostgreSQL; an
    ``ArraySubquery``, say). Unlike ``IN (subquery)``, the array is computed
    once before the scan, so the planner can use an index on ``lhs`` even
    under an OR. Django's own lookups put their right-hand side in
    parentheses, which ``ANY`` does not allow: hence a lookup of its own,
    written as Django's documentation shows (custom lookups).

    Used as an expression, ``Q(AnyOf(F("queue_id"), ArraySubquery(...)))``
    (``tickets.selectors.tickets_visible_to``), so it is registered on no
    field and has no ``lookup_name``: a ``field__any_of`` filter would not
    find it."""

    prepare_rhs = False

    def as_sql(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper) -> Any:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = compiler.compile(self.rhs)
        return f"{lhs} = ANY({rhs})", (*lhs_params, *rhs_params)
