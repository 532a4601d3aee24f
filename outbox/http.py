"""POSTing a webhook: one try, a short timeout, no redirects."""

import http.client
import time
import urllib.error
import urllib.request
from typing import Any

from outbox.failures import Failure, http_failure
from outbox.sources import Attempt, Webhook

TIMEOUT_SECONDS = 5


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is a failed delivery: following it would turn our signed POST
    into a bodiless GET elsewhere and call the event delivered."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


def post(webhook: Webhook) -> tuple[Attempt, Failure | None]:
    """What the receiver answered, and the failure unless it was 2xx."""
    request = urllib.request.Request(  # noqa: S310 - admins configure http(s) endpoints only
        webhook.url, data=webhook.body, method="POST", headers=webhook.headers
    )
    started = time.monotonic()
    status_code: int | None = None
    error: BaseException | None = None
    try:
        with _OPENER.open(request, timeout=TIMEOUT_SECONDS) as response:
            status_code = response.status
    except urllib.error.HTTPError as exc:
        status_code = exc.code
    # An answer that is not HTTP (a TLS port spoken to in clear, a line too
    # long) reaches us unwrapped by urllib: a failure like any other.
    except (urllib.error.URLError, OSError, ValueError, http.client.HTTPException) as exc:
        error = exc
    duration = int((time.monotonic() - started) * 1000)
    failure = None if status_code and 200 <= status_code < 300 else http_failure(error, status_code)
    attempt = Attempt(
        error=failure.error if failure else "", status_code=status_code, duration_ms=duration
    )
    return attempt, failure
