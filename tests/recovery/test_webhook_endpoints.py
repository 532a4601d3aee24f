"""Webhook endpoints are configured through one service."""

import pytest

from core.errors import RuleViolation
from recovery.models import WebhookEndpoint
from recovery.services.webhooks import webhook_endpoint_save

pytestmark = pytest.mark.django_db

GOOD = {
    "url": "https://shop.example/hooks",
    "secret": "s" * 16,
    "events": ["restitution.granted"],
    "active": True,
}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"url": "ftp://shop.example/hooks"}, "url"),
        ({"secret": "short"}, "secret"),
        ({"events": ["ticket.exploded"]}, "events"),
        ({"events": []}, "events"),
    ],
)
def test_a_bad_endpoint_is_refused_and_nothing_is_saved(
    change: dict[str, object], field: str
) -> None:
    with pytest.raises(RuleViolation) as refused:
        webhook_endpoint_save(endpoint=None, **{**GOOD, **change})  # type: ignore[arg-type]

    assert field in refused.value.extra["errors"]
    assert not WebhookEndpoint.objects.exists()


def test_an_endpoint_is_added_then_switched_off() -> None:
    endpoint = webhook_endpoint_save(endpoint=None, **GOOD)  # type: ignore[arg-type]

    changed = webhook_endpoint_save(endpoint=endpoint, **{**GOOD, "active": False})  # type: ignore[arg-type]

    assert changed.pk == endpoint.pk
    assert WebhookEndpoint.objects.get().active is False
