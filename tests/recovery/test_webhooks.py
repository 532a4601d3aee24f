"""Signed webhooks to a real HTTP receiver on 127.0.0.1 (SPEC, "Authority and
restitution": a granted restitution emits a signed webhook with retries, and
delivery never blocks the request). Each delivery has its outbox row
("recovery.webhook"), which the outbox dispatches after commit (issue 15)."""

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from celery.contrib.testing.worker import TestWorkController
from django.utils import timezone

from accounts.models import User
from helpdesk.celery import app as celery_app
from outbox import http
from outbox.dispatch import Dispatch, outbox_dispatch
from outbox.http import TIMEOUT_SECONDS
from outbox.models import OutboxItem
from outbox.services import outbox_sweep
from outbox.tasks import outbox_dispatch_task
from recovery.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from recovery.services.webhooks import SOURCE
from tests.delivery import item_for, make_due
from tests.factories import TicketFactory
from tests.helpers import client_for, free_port, wait_for
from tickets.models import Kind, Ticket

SECRET = "whsec-test-7c1d0f"
ALL_EVENTS = ["restitution.granted", "restitution.voided", "approval.decided"]


@dataclass
class Received:
    headers: dict[str, str]  # names in lower case
    body: bytes
    method: str = "POST"
    path: str = ""

    @property
    def event(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed


@dataclass
class Receiver:
    """What the local HTTP server got, and what it answers."""

    url: str = ""
    status: int = 200
    delay: float = 0.0
    # With a status of 3xx, where the answer points to.
    location: str = ""
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, received: Received) -> None:
        with self.lock:
            self.received.append(received)

    def snapshot(self) -> list[Received]:
        with self.lock:
            return list(self.received)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            headers = {k.lower(): v for k, v in self.headers.items()}
            state.record(Received(headers, body, "POST", self.path))
            if state.delay:
                time.sleep(state.delay)
            self.send_response(state.status)
            if state.location:
                self.send_header("Location", state.location)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_GET(self) -> None:
            # Any page, such as where a moved receiver's old address now points.
            headers = {k.lower(): v for k, v in self.headers.items()}
            state.record(Received(headers, b"", "GET", self.path))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/helpdesk"
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def broker_left_clean() -> Iterator[None]:
    """For tests whose committed grants queue delivery tasks that no worker
    runs: drop them afterwards, so no later worker delivers them."""
    yield
    celery_app.control.purge()


def endpoint_for(
    url: str, *, events: list[str] | None = None, active: bool = True
) -> WebhookEndpoint:
    return WebhookEndpoint.objects.create(
        url=url, secret=SECRET, events=ALL_EVENTS if events is None else events, active=active
    )


def mishap(agent: User) -> Ticket:
    return TicketFactory(kind=Kind.MISHAP, actor=agent)


def grant(agent: User, ticket: Ticket, amount: str = "12.50") -> Any:
    return client_for(agent).post(
        f"/api/v1/tickets/{ticket.pk}/restitutions/",
        {"kind": "refund", "amount": amount, "currency": "USD", "reason": "Broken on arrival."},
        format="json",
    )


def verified(received: Received, secret: str = SECRET) -> int:
    """Check the signature as a receiver would, independently of the
    product's code; return its timestamp."""
    parts = dict(item.split("=", 1) for item in received.headers["x-helpdesk-signature"].split(","))
    assert set(parts) == {"t", "v1"}
    expected = hmac.new(
        secret.encode(), f"{parts['t']}.".encode() + received.body, hashlib.sha256
    ).hexdigest()
    assert hmac.compare_digest(parts["v1"], expected), "signature does not verify"
    return int(parts["t"])


def deliveries(endpoint: WebhookEndpoint) -> list[WebhookDelivery]:
    return list(endpoint.deliveries.order_by("id"))


def row_of(delivery: WebhookDelivery) -> OutboxItem:
    return item_for(SOURCE, delivery.pk)


def deliver(delivery: WebhookDelivery) -> Dispatch:
    """One try at ``delivery``, as a worker makes it, if its row is due."""
    return outbox_dispatch(item_ids=[row_of(delivery).pk])


# --- Emitting and delivering -----------------------------------------------------


@pytest.mark.django_db
def test_a_grant_within_limits_is_delivered_signed_to_the_receiver(
    agent: User, receiver: Receiver
) -> None:
    endpoint = endpoint_for(receiver.url)
    ticket = mishap(agent)

    response = grant(agent, ticket)

    assert response.status_code == 201
    [delivery] = deliveries(endpoint)
    assert delivery.event == "restitution.granted"
    assert delivery.status == WebhookDelivery.Status.PENDING
    assert delivery.attempts == 0
    assert receiver.snapshot() == []  # nothing is sent in the request
    row = row_of(delivery)
    assert (row.kind, row.status) == (OutboxItem.Kind.WEBHOOK, OutboxItem.Status.PENDING)
    assert (row.message_id, row.recipient) == (delivery.event_id, receiver.url)

    assert deliver(delivery).sent == [row.pk]

    [received] = receiver.snapshot()
    timestamp = verified(received)
    assert abs(timestamp - time.time()) < 60
    assert received.headers["content-type"] == "application/json"
    assert received.headers["x-helpdesk-event"] == "restitution.granted"
    assert received.headers["x-helpdesk-delivery"] == delivery.event_id
    event = received.event
    assert event["id"] == delivery.event_id
    assert event["type"] == "restitution.granted"
    data = event["data"]
    assert data["restitution_id"] == response.json()["id"]
    assert data["amount"] == "12.50"
    assert data["currency"] == "USD"
    assert data["kind"] == "refund"
    assert data["status"] == "granted"
    assert data["ticket_id"] == ticket.pk
    assert data["ticket_reference"] == ticket.reference
    assert data["customer"]["email"] == ticket.customer.email
    assert data["charged_to"] == agent.pk
    [attempt] = WebhookAttempt.objects.filter(delivery=delivery)
    assert attempt.status_code == 200
    assert attempt.error == ""
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.DELIVERED
    assert delivery.delivered_at is not None
    assert delivery.attempts == 1

    row.refresh_from_db()
    assert (row.status, row.attempts) == (OutboxItem.Status.SENT, 1)

    # Running the task again (a duplicate message) sends nothing more.
    assert deliver(delivery).claimed == 0
    assert len(receiver.snapshot()) == 1


@pytest.mark.django_db
def test_a_signature_made_with_another_secret_or_body_does_not_verify(
    agent: User, receiver: Receiver
) -> None:
    """The test's verifier refuses what it should, so its passes mean something."""
    endpoint = endpoint_for(receiver.url)
    grant(agent, mishap(agent))
    [delivery] = deliveries(endpoint)
    deliver(delivery)
    [received] = receiver.snapshot()

    with pytest.raises(AssertionError, match="signature"):
        verified(received, secret="not-the-secret")
    tampered = replace(received, body=received.body.replace(b"12.50", b"99.50"))
    with pytest.raises(AssertionError, match="signature"):
        verified(tampered)


@pytest.mark.django_db
def test_a_void_emits_restitution_voided(agent: User, receiver: Receiver) -> None:
    endpoint = endpoint_for(receiver.url)
    ticket = mishap(agent)
    restitution_id = grant(agent, ticket).json()["id"]

    voided = client_for(agent).post(
        f"/api/v1/restitutions/{restitution_id}/void/",
        {"reason": "Granted on the wrong ticket."},
        format="json",
    )

    assert voided.status_code == 200
    events = [d.event for d in deliveries(endpoint)]
    assert events == ["restitution.granted", "restitution.voided"]
    void_delivery = deliveries(endpoint)[1]
    assert deliver(void_delivery).sent == [row_of(void_delivery).pk]
    [received] = receiver.snapshot()
    verified(received)
    assert received.event["type"] == "restitution.voided"
    data = received.event["data"]
    assert data["restitution_id"] == restitution_id
    assert data["status"] == "voided"
    assert data["reason"] == "Granted on the wrong ticket."
    assert data["amount"] == "12.50"


@pytest.mark.django_db
def test_a_grant_awaiting_approval_emits_nothing_until_a_supervisor_approves(
    agent: User, supervisor: User, receiver: Receiver
) -> None:
    endpoint = endpoint_for(receiver.url)
    ticket = mishap(agent)

    pending = grant(agent, ticket, amount="80.00")  # above the agent's 50.00 per incident

    assert pending.status_code == 202
    assert deliveries(endpoint) == []

    approved = client_for(supervisor).post(
        f"/api/v1/approvals/{pending.json()['approval']}/approve/", {}, format="json"
    )

    assert approved.status_code == 200
    sent = deliveries(endpoint)
    assert [d.event for d in sent] == ["approval.decided", "restitution.granted"]
    for delivery in sent:
        assert deliver(delivery).sent == [row_of(delivery).pk]
    decided, granted = receiver.snapshot()
    verified(decided)
    verified(granted)
    assert decided.event["type"] == "approval.decided"
    assert decided.event["data"]["decision"] == "approved"
    assert decided.event["data"]["approval_id"] == pending.json()["approval"]
    assert decided.event["data"]["restitution"]["status"] == "approved"
    assert granted.event["type"] == "restitution.granted"
    assert granted.event["data"]["restitution_id"] == pending.json()["id"]
    assert granted.event["data"]["amount"] == "80.00"
    assert granted.event["data"]["status"] == "approved"
    assert granted.event["data"]["granted_by"] == agent.pk
    assert granted.event["data"]["charged_to"] == supervisor.pk


@pytest.mark.django_db
def test_a_rejection_emits_approval_decided_only(
    agent: User, supervisor: User, receiver: Receiver
) -> None:
    endpoint = endpoint_for(receiver.url)
    pending = grant(agent, mishap(agent), amount="80.00")

    rejected = client_for(supervisor).post(
        f"/api/v1/approvals/{pending.json()['approval']}/reject/",
        {"reason": "A replacement is on its way."},
        format="json",
    )

    assert rejected.status_code == 200
    [delivery] = deliveries(endpoint)
    assert delivery.event == "approval.decided"
    deliver(delivery)
    [received] = receiver.snapshot()
    verified(received)
    assert received.event["data"]["decision"] == "rejected"
    assert received.event["data"]["reason"] == "A replacement is on its way."


@pytest.mark.django_db
def test_endpoints_not_subscribed_or_inactive_get_nothing(agent: User, receiver: Receiver) -> None:
    subscribed = endpoint_for(receiver.url)
    voids_only = endpoint_for(receiver.url + "/voids", events=["restitution.voided"])
    inactive = endpoint_for(receiver.url + "/old", active=False)

    grant(agent, mishap(agent))

    assert [d.event for d in deliveries(subscribed)] == ["restitution.granted"]
    assert deliveries(voids_only) == []
    assert deliveries(inactive) == []
    assert WebhookDelivery.objects.count() == 1
    assert OutboxItem.objects.filter(source=SOURCE).count() == 1


# --- Failures and retries --------------------------------------------------------


@dataclass
class Failing:
    trouble: str
    url: str


@pytest.fixture(params=["down", "500", "timeout"])
def failing(
    request: pytest.FixtureRequest, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> Failing:
    """A receiver that answers 500, one too slow to answer in time, or a
    local port where nothing listens."""
    if request.param == "down":
        return Failing("down", f"http://127.0.0.1:{free_port()}/hooks")
    if request.param == "timeout":
        monkeypatch.setattr(http, "TIMEOUT_SECONDS", 0.3)
        receiver.delay = 1.0
    else:
        receiver.status = 500
    return Failing(request.param, receiver.url)


@pytest.mark.django_db
def test_a_failed_attempt_is_recorded_and_the_delivery_retried_later(
    agent: User, failing: Failing
) -> None:
    endpoint = endpoint_for(failing.url)
    grant(agent, mishap(agent))
    [delivery] = deliveries(endpoint)
    row = row_of(delivery)

    done = deliver(delivery)

    assert list(done.retrying) == [row.pk]
    [attempt] = WebhookAttempt.objects.filter(delivery=delivery)
    if failing.trouble == "down":
        assert attempt.status_code is None
        assert "refused" in attempt.error.lower()
    elif failing.trouble == "timeout":
        assert attempt.status_code is None
        assert "timed out" in attempt.error.lower()
    else:
        assert attempt.status_code == 500
        assert "500" in attempt.error
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.PENDING
    assert delivery.attempts == 1
    assert delivery.delivered_at is None
    row.refresh_from_db()
    assert (row.status, row.attempts, row.last_error) == (
        OutboxItem.Status.PENDING,
        1,
        attempt.error,
    )
    # Tried again after a backoff, not at once.
    assert row.due_at > timezone.now()
    assert deliver(delivery).claimed == 0


@pytest.mark.django_db
def test_a_delivery_failing_for_the_whole_retry_period_is_failed(
    agent: User, failing: Failing, settings: Any
) -> None:
    endpoint = endpoint_for(failing.url)
    grant(agent, mishap(agent))
    [delivery] = deliveries(endpoint)
    row = row_of(delivery)

    for tries in (1, 2, 3):
        make_due(SOURCE)
        assert list(deliver(delivery).retrying) == [row.pk]
        delivery.refresh_from_db()
        assert (delivery.status, delivery.attempts) == (WebhookDelivery.Status.PENDING, tries)
    # The retry period (HELPDESK_OUTBOX_RETRY_FOR) since the first failure is over.
    OutboxItem.objects.filter(pk=row.pk).update(
        first_failure_at=timezone.now() - settings.HELPDESK_OUTBOX_RETRY_FOR
    )
    make_due(SOURCE)
    assert list(deliver(delivery).failed) == [row.pk]

    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.FAILED
    assert delivery.attempts == 4
    assert WebhookAttempt.objects.filter(delivery=delivery).count() == 4
    row.refresh_from_db()
    assert row.status == OutboxItem.Status.FAILED
    assert row.last_error.startswith("Gave up after 4 attempts")
    # A failed delivery is not tried again.
    make_due(SOURCE)
    assert deliver(delivery).claimed == 0
    assert WebhookAttempt.objects.filter(delivery=delivery).count() == 4


@pytest.mark.django_db
def test_a_receiver_that_is_gone_fails_the_delivery_at_once(
    agent: User, receiver: Receiver
) -> None:
    endpoint = endpoint_for(receiver.url)
    grant(agent, mishap(agent))
    [delivery] = deliveries(endpoint)
    receiver.status = 410

    assert list(deliver(delivery).failed) == [row_of(delivery).pk]

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (WebhookDelivery.Status.FAILED, 1)
    [attempt] = WebhookAttempt.objects.filter(delivery=delivery)
    assert (attempt.status_code, attempt.error) == (410, "HTTP 410")
    assert row_of(delivery).status == OutboxItem.Status.FAILED
    make_due(SOURCE)
    assert deliver(delivery).claimed == 0
    assert len(receiver.snapshot()) == 1


@pytest.mark.django_db
def test_a_retry_after_a_500_delivers(agent: User, receiver: Receiver) -> None:
    endpoint = endpoint_for(receiver.url)
    grant(agent, mishap(agent))
    [delivery] = deliveries(endpoint)
    receiver.status = 500
    assert deliver(delivery).retrying

    receiver.status = 200
    make_due(SOURCE)
    assert deliver(delivery).sent == [row_of(delivery).pk]

    first, second = receiver.snapshot()
    # The same event both times, so the receiver can drop duplicates by its id.
    assert first.event == second.event
    assert first.headers["x-helpdesk-delivery"] == second.headers["x-helpdesk-delivery"]
    verified(second)
    codes = list(
        WebhookAttempt.objects.filter(delivery=delivery).values_list("status_code", flat=True)
    )
    assert codes == [500, 200]
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (WebhookDelivery.Status.DELIVERED, 2)


@pytest.mark.django_db
def test_a_redirect_is_not_taken_for_a_delivery(agent: User, receiver: Receiver) -> None:
    endpoint = endpoint_for(receiver.url)
    grant(agent, mishap(agent))
    [delivery] = deliveries(endpoint)
    receiver.status, receiver.location = 302, "/welcome"

    assert deliver(delivery).retrying

    assert [(r.method, r.path) for r in receiver.snapshot()] == [("POST", "/hooks/helpdesk")]
    [attempt] = WebhookAttempt.objects.filter(delivery=delivery)
    assert attempt.status_code == 302
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.PENDING
    assert delivery.delivered_at is None


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("trouble", ["down", "500", "slow"])
def test_the_grant_request_never_waits_for_the_receiver(
    agent: User, receiver: Receiver, broker_left_clean: None, trouble: str
) -> None:
    # Committed for real: the on-commit hooks run, and the delivery task is
    # queued on the broker, where (Celery not being eager) no worker takes it.
    if trouble == "down":
        url = f"http://127.0.0.1:{free_port()}/hooks"
    else:
        url = receiver.url
        receiver.status = 500 if trouble == "500" else 200
        receiver.delay = TIMEOUT_SECONDS - 0.5 if trouble == "slow" else 0.0
    endpoint = endpoint_for(url)
    ticket = mishap(agent)

    started = time.monotonic()
    response = grant(agent, ticket)
    elapsed = time.monotonic() - started

    assert response.status_code == 201
    assert elapsed < 2.0
    assert receiver.snapshot() == []
    [delivery] = deliveries(endpoint)
    assert delivery.status == WebhookDelivery.Status.PENDING
    assert delivery.attempts == 0
    assert not WebhookAttempt.objects.exists()
    assert row_of(delivery).status == OutboxItem.Status.PENDING


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_a_real_worker_delivers_the_granted_event(
    agent: User, receiver: Receiver, celery_worker: TestWorkController
) -> None:
    endpoint = endpoint_for(receiver.url)
    ticket = mishap(agent)

    response = grant(agent, ticket, amount="30.00")

    assert response.status_code == 201
    wait_for(lambda: receiver.snapshot(), timeout=20)
    [delivery] = deliveries(endpoint)
    wait_for(
        lambda: (
            WebhookDelivery.objects.get(pk=delivery.pk).status == WebhookDelivery.Status.DELIVERED
        ),
        timeout=10,
    )
    [received] = receiver.snapshot()
    verified(received)
    assert received.event["type"] == "restitution.granted"
    assert received.event["id"] == delivery.event_id
    assert received.event["data"]["restitution_id"] == response.json()["id"]
    assert received.event["data"]["amount"] == "30.00"
    assert received.event["data"]["ticket_reference"] == ticket.reference
    assert list(
        WebhookAttempt.objects.filter(delivery=delivery).values_list("status_code", flat=True)
    ) == [200]


# --- Sweeping up lost tasks --------------------------------------------------------


@pytest.mark.django_db
def test_the_sweep_delivers_what_lost_tasks_and_dead_workers_left_and_nothing_else(
    agent: User, receiver: Receiver, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not committed (the test's transaction), so no delivery task was ever
    queued: the sweep alone must find the deliveries due and send each once."""
    endpoint = endpoint_for(receiver.url)
    ticket = mishap(agent)

    def emitted() -> WebhookDelivery:
        assert grant(agent, ticket, amount="1.00").status_code == 201
        return endpoint.deliveries.latest("id")

    lost = emitted()  # its task never ran
    delivered = emitted()
    assert deliver(delivered).sent
    waited_out = emitted()  # failed, and its backoff is over
    receiver.status = 500
    assert deliver(waited_out).retrying
    OutboxItem.objects.filter(pk=row_of(waited_out).pk).update(
        due_at=timezone.now() - timedelta(seconds=1)
    )
    retrying = emitted()  # failed, and still waiting out its backoff
    assert deliver(retrying).retrying
    receiver.status = 200
    # A worker claimed it and was killed mid-send: its lease is never released.
    claimed_by_a_dead_worker = emitted()
    OutboxItem.objects.filter(pk=row_of(claimed_by_a_dead_worker).pk).update(
        status=OutboxItem.Status.SENDING,
        lease_token="00000000-0000-0000-0000-000000000001",
        lease_until=timezone.now() - timedelta(seconds=1),
    )
    before = len(receiver.snapshot())
    tasks: list[Any] = []
    monkeypatch.setattr(outbox_dispatch_task, "delay", tasks.append)

    swept = outbox_sweep()
    for _ in tasks:  # the workers the sweep sent
        outbox_dispatch(item_ids=None)

    assert swept.reclaimed == 1
    sent_ids = [r.event["id"] for r in receiver.snapshot()[before:]]
    assert sorted(sent_ids) == sorted(
        d.event_id for d in (lost, waited_out, claimed_by_a_dead_worker)
    )
    statuses = {
        d.pk: WebhookDelivery.objects.get(pk=d.pk).status
        for d in (lost, delivered, waited_out, retrying, claimed_by_a_dead_worker)
    }
    assert statuses == {
        lost.pk: WebhookDelivery.Status.DELIVERED,
        delivered.pk: WebhookDelivery.Status.DELIVERED,
        waited_out.pk: WebhookDelivery.Status.DELIVERED,
        retrying.pk: WebhookDelivery.Status.PENDING,
        claimed_by_a_dead_worker.pk: WebhookDelivery.Status.DELIVERED,
    }
    assert WebhookAttempt.objects.filter(delivery=delivered).count() == 1


@pytest.mark.django_db
def test_an_endpoint_switched_off_after_the_event_is_not_called(
    agent: User, receiver: Receiver
) -> None:
    endpoint = endpoint_for(receiver.url)
    grant(agent, mishap(agent))
    [delivery] = deliveries(endpoint)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(active=False)

    assert deliver(delivery).skipped == [row_of(delivery).pk]

    assert receiver.snapshot() == []
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.FAILED
    assert delivery.attempt_log.get().error == "Endpoint inactive; not sent."
    row = row_of(delivery)
    assert (row.status, row.last_error) == (
        OutboxItem.Status.CANCELLED,
        "Endpoint inactive; not sent.",
    )
