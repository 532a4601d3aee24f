"""Pagination the apps' APIs share (the default, numbered pages, is
helpdesk.api.pagination.PagePagination)."""

import re
from typing import Any

from rest_framework.exceptions import ValidationError
from rest_framework.pagination import CursorPagination, PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response

MAX_PAGE_SIZE = 200
_WHOLE_NUMBER = re.compile(r"^[0-9]+$")


def strict_page_size(request: Request, *, default: int | None) -> int | None:
    """``page_size`` from 1 to MAX_PAGE_SIZE, or a 400 that names the limit
    (DRF would quietly fall back to the default, or clamp)."""
    raw = request.query_params.get("page_size")
    if raw is None:
        return default
    if not _WHOLE_NUMBER.fullmatch(raw) or not 1 <= int(raw) <= MAX_PAGE_SIZE:
        raise ValidationError(
            {"page_size": [f"Give a whole number from 1 to {MAX_PAGE_SIZE}; {raw!r} is not."]}
        )
    return int(raw)


def with_bounds(parameters: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """DRF's query parameters, with the bounds the paginator enforces."""
    for parameter in parameters:
        if parameter["name"] == "page_size":
            parameter["schema"].update(minimum=1, maximum=MAX_PAGE_SIZE)
            parameter["description"] = f"Results per page, 1 to {MAX_PAGE_SIZE}."
        elif parameter["name"] == "page":
            parameter["schema"].update(minimum=1)
    return parameters


class StrictPageNumberPagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE

    def get_page_size(self, request: Request) -> int | None:
        return strict_page_size(request, default=self.page_size)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return with_bounds(super().get_schema_operation_parameters(view))


class OrderedCursorPagination(CursorPagination):
    """A cursor over the list's own ordering (``ordering`` is set per request)."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE

    def get_page_size(self, request: Request) -> int | None:
        return strict_page_size(request, default=self.page_size)


class PageOrCursorPagination(StrictPageNumberPagination):
    """Numbered pages (``count``, ``next``, ``previous``, ``results``), or, when
    the request asks with ``?pagination=cursor`` or carries a ``cursor``,
    cursor pages (``next``, ``previous``, ``results``; no ``count``).

    A numbered page N makes the database read and skip every row before it,
    and counts them all: fine near the top, slow thousands of pages down. A
    cursor page starts from where the previous one ended, through the list's
    index, at the same cost wherever it is. The view names the ordering in
    ``cursor_ordering``."""

    def __init__(self) -> None:
        self.cursor: OrderedCursorPagination | None = None

    def paginate_queryset(self, queryset: Any, request: Request, view: Any = None) -> Any:
        params = request.query_params
        if params.get("pagination", "page") not in ("page", "cursor"):
            raise ValidationError({"pagination": ["Use page or cursor."]})
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
