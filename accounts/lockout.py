"""The answer to a sign-in while an account (or address) is locked out.

django-axes counts the failures; this says what happened, for how long, and
carries Retry-After like every other 429 of the desk.
"""

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone


def lockout_response(
    request: HttpRequest,
    original_response: HttpResponse | None = None,
    credentials: dict[str, Any] | None = None,
) -> HttpResponse:
    cool_off = settings.AXES_COOLOFF_TIME
    seconds = int(cool_off.total_seconds())
    username = (credentials or {}).get("username") or request.POST.get("username", "")
    response = render(
        request,
        "lockout.html",
        {
            "failure_limit": settings.AXES_FAILURE_LIMIT,
            "username": str(username)[:150],
            "minutes": max(1, seconds // 60),
            "until": timezone.localtime() + cool_off,
        },
        status=429,
    )
    response["Retry-After"] = str(seconds)
    return response
