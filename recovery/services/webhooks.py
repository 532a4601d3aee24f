"""Signed webhooks: events are rows written in the change's transaction and
delivered through the outbox (``outbox/``) after commit, so a slow or dead
receiver never holds up the request; every attempt is logged for the admins."""

import hashlib
import hmac
import json
import logging
import time
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import F, QuerySet

from core import clock
from core.compiled import CompiledQuery
from core.errors import RuleViolation
from outbox.models import OutboxItem
from outbox.services import outbox_enqueue, outbox_item
from outbox.sources import Attempt, Composed, Delivered, Skip, Source, Webhook, delivered_at
from recovery.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Helpdesk-Signature"
SOURCE = "recovery.webhook"


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
        saved = WebhookEndpoint(created_at=clock.now())
    else:
        saved = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    saved.url, saved.secret, saved.events, saved.active = url, secret, sorted(events), active
    saved.save()
    return saved


def _active_endpoints(shape: None) -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.filter(active=True)


# Read by every change that emits an event (each grant): built and compiled
# once a process (core.compiled).
_ACTIVE_ENDPOINTS = CompiledQuery(build=_active_endpoints)


def webhook_emit(*, event: str, data: dict[str, Any]) -> list[WebhookDelivery]:
    """Record the event for every active endpoint that wants it, each with
    its outbox row. For use inside the service's transaction."""
    deliveries = []
    for endpoint in _ACTIVE_ENDPOINTS.rows(None):
        if event not in endpoint.events:
            continue
        event_id = uuid.uuid4().hex
        deliveries.append(
            WebhookDelivery.objects.create(
                endpoint=endpoint,
                event=event,
                event_id=event_id,
                payload={
                    "id": event_id,
                    "type": event,
                    "created_at": clock.now().isoformat(),
                    "data": data,
                },
            )
        )
    outbox_enqueue(
        [
            outbox_item(
                source=SOURCE,
                source_id=delivery.pk,
                kind=OutboxItem.Kind.WEBHOOK,
                message_id=delivery.event_id,
                reference=f"{delivery.event} {delivery.event_id}",
                recipient=delivery.endpoint.url,
            )
            for delivery in deliveries
        ]
    )
    return deliveries


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """``t=<unix time>,v1=<hex HMAC-SHA256 of "<t>." + body>``: the receiver
    recomputes it, compares in constant time and refuses old timestamps."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def _compose(delivery_ids: Sequence[int]) -> Mapping[int, Composed]:
    """Each pending delivery as a signed POST, signed as it goes out."""
    deliveries = WebhookDelivery.objects.select_related("endpoint").filter(
        pk__in=delivery_ids, status=WebhookDelivery.Status.PENDING
    )
    composed: dict[int, Composed] = {}
    for delivery in deliveries:
        if not delivery.endpoint.active:
            # Switched off by an admin after the event: not sent, and why.
            composed[delivery.pk] = Skip("Endpoint inactive; not sent.")
            continue
        body = json.dumps(delivery.payload, cls=DjangoJSONEncoder, separators=(",", ":")).encode()
        timestamp = int(time.time())
        composed[delivery.pk] = Webhook(
            url=delivery.endpoint.url,
            body=body,
            headers={
                "Content-Type": "application/json",
                "User-Agent": "helpdesk-webhooks/1",
                SIGNATURE_HEADER: sign(delivery.endpoint.secret, timestamp, body),
                "X-Helpdesk-Event": delivery.event,
                "X-Helpdesk-Delivery": delivery.event_id,
            },
        )
    return composed


def _log(delivery_id: int, attempt: Attempt) -> None:
    WebhookAttempt.objects.create(
        delivery_id=delivery_id,
        status_code=attempt.status_code,
        error=attempt.error[:2000],
        duration_ms=attempt.duration_ms,
    )


def _delivered(deliveries: Sequence[Delivered]) -> None:
    WebhookAttempt.objects.bulk_create(
        [
            WebhookAttempt(
                delivery_id=d.source_id,
                attempted_at=d.at,
                status_code=d.attempt.status_code,
                error=d.attempt.error[:2000],
                duration_ms=d.attempt.duration_ms,
            )
            for d in deliveries
        ]
    )
    WebhookDelivery.objects.filter(pk__in=[d.source_id for d in deliveries]).update(
        status=WebhookDelivery.Status.DELIVERED,
        delivered_at=delivered_at(SOURCE),
        attempts=F("attempts") + 1,
    )


def _attempt_failed(delivery_id: int, attempt: Attempt) -> None:
    _log(delivery_id, attempt)
    WebhookDelivery.objects.filter(pk=delivery_id).update(attempts=F("attempts") + 1)


def _failed(delivery_id: int, error: str) -> None:
    WebhookDelivery.objects.filter(pk=delivery_id).update(status=WebhookDelivery.Status.FAILED)
    logger.error("Webhook delivery %s failed for good: %s", delivery_id, error)


def _cancelled(delivery_id: int, reason: str) -> None:
    _log(delivery_id, Attempt(error=reason))
    WebhookDelivery.objects.filter(pk=delivery_id).update(status=WebhookDelivery.Status.FAILED)


def _requeued(delivery_id: int) -> None:
    WebhookDelivery.objects.filter(pk=delivery_id).update(status=WebhookDelivery.Status.PENDING)


WEBHOOKS = Source(
    name=SOURCE,
    compose=_compose,
    delivered=_delivered,
    attempt_failed=_attempt_failed,
    failed=_failed,
    cancelled=_cancelled,
    requeued=_requeued,
)
