"""The client's address behind our proxies, for lockouts and throttles."""

from typing import Any

import pytest
from django.test import RequestFactory

from helpdesk.client_ip import client_ip


@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected"),
    [
        (0, "", "10.0.0.1"),
        # Without proxies of ours, a client's X-Forwarded-For is not believed.
        (0, "203.0.113.5", "10.0.0.1"),
        (1, "203.0.113.5", "203.0.113.5"),
        # A forged first hop is ignored: our proxy appended the real one.
        (1, "198.51.100.66, 203.0.113.5", "203.0.113.5"),
        (2, "198.51.100.66, 203.0.113.5, 10.0.0.7", "203.0.113.5"),
        # A chain shorter than our proxies: someone reached us around them.
        (2, "203.0.113.5", "10.0.0.1"),
    ],
)
def test_the_address_our_outermost_proxy_saw(
    settings: object, proxies: int, forwarded: str, expected: str
) -> None:
    settings.HELPDESK_TRUSTED_PROXIES = proxies  # type: ignore[attr-defined]
    headers: dict[str, Any] = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded else {}
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.1", **headers)

    assert client_ip(request) == expected
