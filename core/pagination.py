"""Pagination the apps' APIs share (the default, numbered pages, is
helpdesk.api.pagination.PagePagination)."""

from typing import Any

from rest_framework.pagination import CursorPagination, PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response


class OrderedCursorPagination(CursorPagination):
    """A cursor over the list's own ordering (``ordering`` is set per request)."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


class PageOrCursorPagination(PageNumberPagination):
    """Numbered pages (``count``, ``next``, ``previous``, ``results``), or, when
    the request asks with ``?pagination=cursor`` or carries a ``cursor``,
    cursor pages (``next``, ``previous``, ``results``; no ``count``).

    A numbered page N makes the database read and skip every row before it,
    and counts them all: fine near the top, slow thousands of pages down. A
    cursor page starts from where the previous one ended, through the list's
    index, at the same cost wherever it is. The view names the ordering in
    ``cursor_ordering``."""

    page_size_query_param = "page_size"
    max_page_size = 200

    def __init__(self) -> None:
        self.cursor: OrderedCursorPagination | None = None

    def paginate_queryset(self, queryset: Any, request: Request, view: Any = None) -> Any:
        params = request.query_params
        if params.get("pagination") == "cursor" or "cursor" in params:
            self.cursor = OrderedCursorPagination()
            self.cursor.ordering = view.cursor_ordering()
            return self.cursor.paginate_queryset(queryset, request, view)
        return super().paginate_queryset(queryset, request, view)

    def get_paginated_response(self, data: Any) -> Response:
        if self.cursor is not None:
            return self.cursor.get_paginated_response(data)
        return super().get_paginated_response(data)

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        described = super().get_paginated_response_schema(schema)
        described["properties"]["count"]["description"] = "Absent from cursor pages."
        described["required"] = ["results"]
        return described
