"""Throttles against guessing and flooding, answered 429 with Retry-After.

Rates are ``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]`` (settings, README). The
counts live in the ``throttle`` cache (Redis in production), so every web
process sees the same history.
"""

import logging
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.core.cache import caches
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.shortcuts import render
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import AuthenticationFailed, Throttled
from rest_framework.request import Request
from rest_framework.throttling import ScopedRateThrottle, SimpleRateThrottle

from accounts.backends import staff_with_access
from accounts.models import User
from helpdesk.api.problems import problem_response
from helpdesk.client_ip import client_ip

logger = logging.getLogger(__name__)


class _SharedCache:
    """The throttles' cache, looked up when used so tests can swap settings."""

    def __get__(self, instance: object, owner: type) -> Any:
        return caches["throttle"]


def _cache_down(error: Exception) -> bool:
    """A throttle whose cache cannot be reached lets the request through: a
    customer's click or a mail gateway's post must not fail because Redis
    has a bad minute. Logged, so the gap is seen."""
    logger.warning("Throttle cache unavailable, request let through: %s", error)
    return True


class _DeskThrottle:
    """What our throttles share: the ``throttle`` cache, the client address as
    the sign-in lockout sees it (helpdesk.client_ip), and letting requests
    through when the cache is down."""

    cache = _SharedCache()

    def get_ident(self, request: Any) -> str:
        return client_ip(request)

    def allow_request(self, request: Any, view: Any) -> bool:
        try:
            return bool(super().allow_request(request, view))  # type: ignore[misc]
        except Exception as error:  # noqa: BLE001 - any cache failure: see _cache_down
            return _cache_down(error)


class ScopedThrottle(_DeskThrottle, ScopedRateThrottle):
    """DRF's per-view scope (``throttle_scope`` on the view)."""


class AddressThrottle(_DeskThrottle, SimpleRateThrottle):
    """Counts by client address."""

    num_requests: int
    duration: int

    def get_cache_key(self, request: Any, view: Any) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}

    def exceeded(self, request: Any) -> float | None:
        """Seconds to wait when the address is over its limit, else None;
        looks without counting."""
        self.key = self.get_cache_key(request, None)
        self.now = self.timer()
        try:
            stored = self.cache.get(self.key, [])
        except Exception as error:  # noqa: BLE001 - any cache failure: see _cache_down
            _cache_down(error)
            return None
        self.history = [t for t in stored if t > self.now - self.duration]
        if len(self.history) >= self.num_requests:
            return self.wait()
        return None

    def count(self, request: Any) -> None:
        """One more event for the request's address."""
        if self.exceeded(request) is None:
            try:
                self.throttle_success()
            except Exception as error:  # noqa: BLE001 - any cache failure: see _cache_down
                _cache_down(error)


class FailedTokenThrottle(AddressThrottle):
    scope = "failed_token"


class ThrottledTokenAuthentication(TokenAuthentication):
    """Token authentication that stops an address guessing tokens: once it has
    sent too many unknown tokens, every token it sends is answered 429 until
    the window passes, before any lookup (a lucky guess is refused too)."""

    def authenticate(self, request: Request) -> Any:
        throttle = FailedTokenThrottle()
        if request.headers.get("Authorization", "").split(" ")[0].lower() == "token":
            wait = throttle.exceeded(request)
            if wait is not None:
                raise Throttled(wait=wait, detail=_TOO_MANY_TOKENS)
        try:
            return super().authenticate(request)
        except AuthenticationFailed:
            throttle.count(request)
            raise

    def authenticate_credentials(self, key: str) -> tuple[User, Token]:
        # DRF's reads the token and its user; this, the user with their groups
        # and permissions too, so that checking them costs no more queries.
        user = staff_with_access(token=key)
        if user is None:
            raise AuthenticationFailed("Invalid token.")
        if not user.is_active:
            raise AuthenticationFailed("User inactive or deleted.")
        return user, Token(key=key, user=user)


_TOO_MANY_TOKENS = "Too many requests with an unknown API token from this address."


class CustomerLinkThrottle(AddressThrottle):
    scope = "customer_link"


def throttle_customer_page(
    view: Callable[..., HttpResponseBase],
) -> Callable[..., HttpResponseBase]:
    """Limit a customer's public page (no login: the signed link is the key)
    by address. A browser gets a page, anything else an RFC 9457 problem;
    both are 429 with Retry-After."""

    @wraps(view)
    def throttled(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        throttle = CustomerLinkThrottle()
        if throttle.allow_request(request, None):
            return view(request, *args, **kwargs)
        seconds = max(1, round(throttle.wait() or 1))
        if "text/html" in request.headers.get("Accept", ""):
            response = render(request, "public/throttled.html", {"seconds": seconds}, status=429)
        else:
            response = problem_response(
                "throttled", detail=f"Too many requests; try again in {seconds} seconds."
            )
        response["Retry-After"] = str(seconds)
        return response

    return throttled


class _ByEmail(AddressThrottle):
    """Counts by the email address a form was sent with."""

    def __init__(self, scope: str, address: str) -> None:
        self.scope = scope
        self.address = address
        super().__init__()

    def get_cache_key(self, request: Any, view: Any) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.address}


class _ByClient(AddressThrottle):
    def __init__(self, scope: str) -> None:
        self.scope = scope
        super().__init__()


def throttle_posts_by_address(scope: str) -> Callable[..., Callable[..., HttpResponseBase]]:
    """Limit a form anyone may post without a link (the contact form, asking
    for case links) by client address (``<scope>_ip``) and by the email
    address in it (``<scope>_address``): neither a flood from one place nor
    one inbox flooded from many gets through. Every post counts; a GET never."""

    def decorate(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
        @wraps(view)
        def limited(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if request.method != "POST":
                return view(request, *args, **kwargs)
            address = str(request.POST.get("email", "")).strip().lower()[:254]
            throttles = [_ByClient(f"{scope}_ip"), _ByEmail(f"{scope}_address", address)]
            waits = [throttle.exceeded(request) for throttle in throttles]
            if any(wait is not None for wait in waits):
                seconds = max(1, round(max(wait or 0 for wait in waits)))
                response = render(
                    request, "public/throttled.html", {"seconds": seconds}, status=429
                )
                response["Retry-After"] = str(seconds)
                return response
            for throttle in throttles:
                throttle.count(request)
            return view(request, *args, **kwargs)

        return limited

    return decorate
