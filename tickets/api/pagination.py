"""The ticket list's pages: numbered or by cursor (core.pagination), and for
a search, a count that stops at a few thousand."""

import json
from functools import cached_property, partial
from typing import Any, cast

from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from rest_framework.request import Request
from rest_framework.response import Response

from core.pagination import PageOrCursorPagination

# Past this many results a search's count is the planner's estimate: counting
# 181,000 tickets that hold "courier" took seconds, for a figure nobody reads
# to the last digit. Counting up to the limit reads that many matches: for
# an agent, whose tickets are one in five, 11,000 rows for a common word.
SEARCH_COUNT_LIMIT = 2000


class CountLimitedPaginator(Paginator):
    """For a queryset of search results. Counts at most ``limit`` + 1 rows;
    past ``limit``, ``count`` is the planner's estimate of the rows the query
    returns, or ``limit`` where the estimate is below what was counted, and
    ``exact`` is False."""

    def __init__(self, *args: Any, limit: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limit = limit
        self.exact = True
        self.matches: list[Any] | None = None  # every match's id, where counted exactly

    @cached_property
    def count(self) -> int:
        """Read as the matches' ids, up to the limit and one, rather than a
        COUNT: where they are all there, ``page`` picks its rows among them."""
        unordered = cast(QuerySet[Any], self.object_list).order_by()
        self.matches = list(unordered.values_list("pk", flat=True)[: self.limit + 1])
        counted = len(self.matches)
        if counted <= self.limit:
            return counted
        self.matches = None
        self.exact = False
        plan = json.loads(unordered.explain(format="json"))
        return max(self.limit, int(plan[0]["Plan"]["Plan Rows"]))

    def page(self, number: Any) -> Page[Any]:
        """The page's ids first, in order, then their rows with what the list
        joins: PostgreSQL otherwise joins every match (8,000 tickets for
        "espresso grinder") to its customer, queue and assignee before it
        sorts them and keeps 50, twice the time.

        And always a whole page's LIMIT, where Django cuts the last page at
        the count: short at an estimate; and for 4 results, "LIMIT 4" made
        PostgreSQL walk the date index through 200,000 tickets to find them
        (a second) rather than take them from the full-text index.

        Where the count is exact, the page's ids are picked among the counted
        ones: PostgreSQL estimates any word it keeps no statistics for (a
        rare one: an order number, a name) at 1,000 tickets in 200,000, and
        for 4 matches walked the date index and probed the documents of all
        200,000 tickets (0.4 s) to fill a page of 50 it thought it would fill
        in 10,000. A list of ids it sizes exactly."""
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        results = cast(QuerySet[Any], self.object_list)
        among = results
        if self.count <= self.limit and self.matches is not None:
            among = results.filter(pk__in=self.matches)
        ids = among.values("pk")[bottom : bottom + self.per_page]
        return Page(results.filter(pk__in=ids), number, self)


class TicketPagination(PageOrCursorPagination):
    """``PageOrCursorPagination``, whose numbered pages of a search say
    ``count_is_estimate`` (``true`` past SEARCH_COUNT_LIMIT results): the view
    names the limit in ``count_limit``, None to count every row."""

    def paginate_queryset(self, queryset: Any, request: Request, view: Any = None) -> Any:
        limit = view.count_limit() if hasattr(view, "count_limit") else None
        if limit is not None:
            counting = partial(CountLimitedPaginator, limit=limit)
            self.django_paginator_class = cast(type[Paginator], counting)
        return super().paginate_queryset(queryset, request, view)

    def get_paginated_response(self, data: Any) -> Response:
        response = super().get_paginated_response(data)
        if self.cursor is None and self.page is not None:
            exact = getattr(self.page.paginator, "exact", True)
            response.data = {**response.data, "count_is_estimate": not exact}
        return response

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        described = super().get_paginated_response_schema(schema)
        described["properties"]["count"]["description"] = (
            "Absent from cursor pages. For a search with more than "
            f"{SEARCH_COUNT_LIMIT:,} results, an estimate (see `count_is_estimate`)."
        )
        described["properties"]["count_is_estimate"] = {
            "type": "boolean",
            "description": f"Numbered pages: true when a search found more than "
            f"{SEARCH_COUNT_LIMIT:,} tickets and `count` is PostgreSQL's estimate "
            "(never below that limit): the last pages it promises may be empty, or "
            "stop short of the last results; cursor pages read them all. Absent from "
            "cursor pages.",
        }
        return described
