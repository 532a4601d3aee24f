"""The address a request came from, for sign-in lockouts and throttles."""

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    """The address our outermost trusted proxy saw the client at.

    Each of our ``HELPDESK_TRUSTED_PROXIES`` proxies appends the address it
    was reached from to X-Forwarded-For, so the client's is that many places
    from the right; anything further left was written by the client and can
    be forged. With no proxy (or a header too short), the socket's address.
    """
    proxies = settings.HELPDESK_TRUSTED_PROXIES
    remote = str(request.META.get("REMOTE_ADDR") or "")
    if proxies <= 0:
        return remote
    chain = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    chain = [hop for hop in chain if hop]
    return chain[-proxies] if len(chain) >= proxies else remote
