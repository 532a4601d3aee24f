"""Signed webhooks: events are rows written in the change's transaction and
delivered by a task after commit, so a slow or dead receiver never holds up
the request, and a lost task is swept again."""

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
import uuid
from datetime import datetime, timedelta
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from core.delivery import claimable, waiting_since
from core.errors import RuleViolation
from recovery.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

SIGNATURE_HEADER = "X-Helpdesk-Signature"
TIMEOUT_SECONDS = 5
MAX_ATTEMPTS = 8
CLAIM_TIMEOUT = timedelta(minutes=5)
REQUEUE_AFTER = timedelta(minutes=45)  # longer than the longest retry wait


MIN_SECRET_CHARS = 16


@transaction.atomic
def webhook_endpoint_save(
    *,
    endpoint: WebhookEndpoint | None,
    url: str,
    secret: str,
    events: list[str],
    active: bool,
) -> WebhookEndpoint:
    """Add a receiver of signed events (``endpoint`` None) or change one. Its
    address is http(s), its secret long enough to sign with, and it asks only
    for events the desk sends."""
    if not url.startswith(("https://", "http://")):
        raise RuleViolation("Use an http or https address.", field="url")
    if len(secret) < MIN_SECRET_CHARS:
        raise RuleViolation(
            f"Use a secret of at least {MIN_SECRET_CHARS} characters.", field="secret"
        )
    unknown = sorted(set(events) - set(WebhookEndpoint.Event.values))
    if unknown or not events:
        raise RuleViolation(
            f"Choose events among {', '.join(WebhookEndpoint.Event.values)}.", field="events"
        )
    if endpoint is None or endpoint.pk is None:
        saved = WebhookEndpoint(created_at=timezone.now())
    else:
        saved = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    saved.url, saved.secret, saved.events, saved.active = url, secret, sorted(events), active
    saved.save()
    return saved


def webhook_emit(*, event: str, data: dict[str, Any]) -> list[WebhookDelivery]:
    """Record the event for every active endpoint that wants it and queue the
    deliveries on commit. For use inside the service's transaction."""
    from recovery.tasks import webhook_deliver_task

    deliveries = []
    for endpoint in WebhookEndpoint.objects.filter(active=True):
        if event not in endpoint.events:
            continue
        event_id = uuid.uuid4().hex
        delivery = WebhookDelivery.objects.create(
            endpoint=endpoint,
            event=event,
            event_id=event_id,
            payload={
                "id": event_id,
                "type": event,
                "created_at": timezone.now().isoformat(),
                "data": data,
            },
        )
        # celery-types does not know delay_on_commit (Celery 5.4) yet.
        webhook_deliver_task.delay_on_commit(delivery.pk)  # type: ignore[attr-defined]
        deliveries.append(delivery)
    return deliveries


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """``t=<unix time>,v1=<hex HMAC-SHA256 of "<t>." + body>``: the receiver
    recomputes it, compares in constant time and refuses old timestamps."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


class WebhookFailed(Exception):
    pass


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is a failed delivery: following it would turn our signed POST
    into a bodiless GET elsewhere and call the event delivered."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


def webhook_deliver(*, delivery_id: int) -> bool:
    """POST the event to its endpoint, once it answers 2xx. Every attempt is
    recorded. Returns False when there is nothing to do."""
    now = timezone.now()
    claimed = (
        WebhookDelivery.objects.filter(pk=delivery_id, status=WebhookDelivery.Status.PENDING)
        .filter(claimable(now, CLAIM_TIMEOUT))
        .update(claimed_at=now, last_attempt_at=now, attempts=F("attempts") + 1)
    )
    if not claimed:
        return False
    delivery = WebhookDelivery.objects.select_related("endpoint").get(pk=delivery_id)
    if not delivery.endpoint.active:
        # Switched off by an admin after the event: stop, and say why.
        WebhookAttempt.objects.create(delivery=delivery, error="Endpoint inactive; not sent.")
        WebhookDelivery.objects.filter(pk=delivery_id).update(
            status=WebhookDelivery.Status.FAILED, claimed_at=None
        )
        return False
    body = json.dumps(delivery.payload, cls=DjangoJSONEncoder, separators=(",", ":")).encode()
    timestamp = int(time.time())
    request = urllib.request.Request(  # noqa: S310 - admins configure http(s) endpoints only
        delivery.endpoint.url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "helpdesk-webhooks/1",
            SIGNATURE_HEADER: sign(delivery.endpoint.secret, timestamp, body),
            "X-Helpdesk-Event": delivery.event,
            "X-Helpdesk-Delivery": delivery.event_id,
        },
    )
    started = time.monotonic()
    status_code, error = None, ""
    try:
        with _OPENER.open(request, timeout=TIMEOUT_SECONDS) as response:
            status_code = response.status
    except urllib.error.HTTPError as exc:
        status_code, error = exc.code, f"HTTP {exc.code}"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        error = f"{type(exc).__name__}: {exc}"
    duration = int((time.monotonic() - started) * 1000)
    WebhookAttempt.objects.create(
        delivery=delivery, status_code=status_code, error=error[:2000], duration_ms=duration
    )
    if status_code is not None and 200 <= status_code < 300:
        WebhookDelivery.objects.filter(pk=delivery_id).update(
            status=WebhookDelivery.Status.DELIVERED, delivered_at=timezone.now(), claimed_at=None
        )
        return True
    final = delivery.attempts >= MAX_ATTEMPTS
    WebhookDelivery.objects.filter(pk=delivery_id).update(
        status=WebhookDelivery.Status.FAILED if final else WebhookDelivery.Status.PENDING,
        claimed_at=None,
    )
    raise WebhookFailed(error or f"HTTP {status_code}")


def webhooks_requeue_stalled(*, now: datetime | None = None) -> list[int]:
    now = now or timezone.now()
    stalled = WebhookDelivery.objects.filter(status=WebhookDelivery.Status.PENDING).filter(
        waiting_since(now - REQUEUE_AFTER) | Q(claimed_at__lt=now - CLAIM_TIMEOUT)
    )
    return list(stalled.values_list("pk", flat=True)[:1000])
