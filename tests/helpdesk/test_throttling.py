"""Guessing API tokens and flooding the anonymous endpoints are answered 429,
as RFC 9457 problems with Retry-After."""

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

from accounts.models import User
from accounts.services import staff_issue_token

pytestmark = pytest.mark.django_db

ME = "/api/v1/me/"


@pytest.fixture
def rates(monkeypatch: pytest.MonkeyPatch) -> dict[str, str | None]:
    """The throttle rates, for a test to lower (DRF reads them at import)."""
    rates = SimpleRateThrottle.THROTTLE_RATES
    for scope, rate in list(rates.items()):
        monkeypatch.setitem(rates, scope, rate)
    return rates


def with_token(key: str, address: str = "127.0.0.1") -> APIClient:
    client = APIClient(REMOTE_ADDR=address)
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def test_repeated_bad_tokens_are_answered_429_with_retry_after() -> None:
    answers = [with_token(f"{n:040x}").get(ME) for n in range(11)]

    assert [a.status_code for a in answers[:10]] == [401] * 10
    throttled = answers[10]
    assert throttled.status_code == 429
    assert throttled["Content-Type"] == "application/problem+json"
    assert 0 < int(throttled["Retry-After"]) <= 60
    body = throttled.json()
    assert body["type"] == "/problems/throttled/"
    assert body["status"] == 429
    assert "unknown API token" in body["detail"]


def test_a_throttled_address_cannot_use_even_a_right_token(agent: User) -> None:
    key = staff_issue_token(user=agent)
    for n in range(10):
        with_token(f"{n:040x}").get(ME)

    assert with_token(key).get(ME).status_code == 429
    # Another address with the right token is not held back.
    assert with_token(key, address="10.0.0.9").get(ME).status_code == 200


def test_right_tokens_are_never_counted(agent: User) -> None:
    key = staff_issue_token(user=agent)

    answers = [with_token(key).get(ME).status_code for _ in range(15)]

    assert answers == [200] * 15
    assert Token.objects.filter(user=agent).count() == 1


def test_the_inbound_endpoint_is_limited_per_caller(
    admin_staff: User, rates: dict[str, str]
) -> None:
    rates["inbound"] = "2/minute"
    client = with_token(staff_issue_token(user=admin_staff))
    raw = b"From: a@example.com\r\nSubject: Hi\r\nMessage-ID: <m@example.com>\r\n\r\nHello\r\n"

    answers = [
        client.post("/api/v1/inbound/email/", raw, content_type="message/rfc822") for _ in range(3)
    ]

    assert [a.status_code for a in answers[:2]] in ([201, 200], [202, 200], [201, 201])
    assert answers[2].status_code == 429
    assert "Retry-After" in answers[2]
    assert answers[2].json()["status"] == 429


@pytest.mark.parametrize("page", ["/feedback/not-a-token/", "/unsubscribe/not-a-token/"])
def test_the_customer_pages_are_limited_per_address(page: str, rates: dict[str, str]) -> None:
    rates["customer_link"] = "3/minute"
    client = APIClient(REMOTE_ADDR="203.0.113.7")

    answers = [client.get(page) for _ in range(4)]
    in_a_browser = client.get(page, HTTP_ACCEPT="text/html,application/xhtml+xml")
    elsewhere = APIClient(REMOTE_ADDR="203.0.113.8").get(page)

    assert [a.status_code for a in answers[:3]] == [400, 400, 400]
    assert answers[3].status_code == 429
    assert answers[3]["Content-Type"] == "application/problem+json"
    assert answers[3].json()["type"] == "/problems/throttled/"
    assert int(answers[3]["Retry-After"]) > 0
    assert in_a_browser.status_code == 429
    assert "Please wait a moment" in in_a_browser.content.decode()
    assert "Retry-After" in in_a_browser
    assert elsewhere.status_code == 400


def test_a_throttle_whose_cache_is_down_lets_requests_through(
    agent: User, settings: object
) -> None:
    settings.CACHES = {  # type: ignore[attr-defined]
        **settings.CACHES,  # type: ignore[attr-defined]
        "throttle": {
            "BACKEND": "core.redis_cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens on port 1
        },
    }  # Django's setting_changed signal gives `caches` the new settings.

    bad = [with_token(f"{n:040x}").get(ME).status_code for n in range(12)]
    page = APIClient().get("/feedback/not-a-token/")

    assert bad == [401] * 12
    assert page.status_code == 400


def test_behind_our_proxy_tokens_are_counted_per_client_not_per_proxy(settings: object) -> None:
    settings.HELPDESK_TRUSTED_PROXIES = 1  # type: ignore[attr-defined]

    def from_client(address: str, n: int) -> int:
        client = APIClient(REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=address)
        client.credentials(HTTP_AUTHORIZATION=f"Token {n:040x}")
        return client.get(ME).status_code

    guesser = [from_client("203.0.113.5", n) for n in range(11)]
    someone_else = from_client("198.51.100.7", 99)

    assert guesser[-1] == 429
    assert someone_else == 401
