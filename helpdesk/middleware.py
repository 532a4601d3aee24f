"""Request middleware of our own."""

import re
import zoneinfo
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from helpdesk.errors import unencodable_input

# NUL and unpaired surrogates: PostgreSQL text cannot hold the first, UTF-8
# cannot encode the second, so either would fail deep inside as a 500.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def unstorable(text: str) -> bool:
    return _UNSTORABLE.search(text) is not None


class RejectUnstorableTextMiddleware:
    """Refuses, up front and with a 400, a request whose path, query string
    or headers carry text no database column or response can hold.
    JSON bodies are checked by the API's parser (helpdesk.api.parsers), the
    only place their escapes are decoded."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        where = self._offending_part(request)
        if where is not None:
            return unencodable_input(request, where=where)
        return self.get_response(request)

    def _offending_part(self, request: HttpRequest) -> str | None:
        if unstorable(request.path_info):
            return "the path"
        for name, values in request.GET.lists():
            if unstorable(name) or any(unstorable(v) for v in values):
                return f"the query parameter {name!r}"
        for key, value in request.META.items():
            if key.startswith("HTTP_") and isinstance(value, str) and unstorable(value):
                return f"the header {key[5:].replace('_', '-').title()}"
        # Form bodies are left to the forms: Django's form fields refuse a NUL
        # themselves and show the form again with what was typed, and form
        # data is decoded with replacement, so it holds no surrogates.
        return None


class StaffTimeZoneMiddleware:
    """Shows and reads times in the signed-in staff member's own time zone,
    so a due time typed into a form means what its author meant."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        zone = getattr(request.user, "time_zone", "") if hasattr(request, "user") else ""
        try:
            timezone.activate(zoneinfo.ZoneInfo(zone)) if zone else timezone.deactivate()
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            timezone.deactivate()
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
