"""End to end: the steps taken through the API are emailed by a real Celery
worker on Redis to a real SMTP server, threaded, each exactly once."""

import time
from datetime import timedelta

import pytest
from celery.contrib.testing.worker import TestWorkController
from django.utils import timezone

from tests.factories import StaffFactory
from tests.helpers import client_for, not_none
from tests.smtp import SmtpSink
from tickets.models import Message


@pytest.mark.django_db(transaction=True)
def test_recovery_steps_reach_the_customer_threaded_and_once(
    celery_worker: TestWorkController, smtp_sink: SmtpSink
) -> None:
    api = client_for(StaffFactory())
    ticket = api.post(
        "/api/v1/tickets/",
        {
            "subject": "Charged twice",
            "body": "Two charges of 84.00 on my card.",
            "kind": "mishap",
            "severity": "major",
            "customer_email": "maria@example.com",
            "customer_name": "Maria Silva",
        },
        format="json",
    ).json()
    url = f"/api/v1/tickets/{ticket['id']}"
    due = (timezone.now() + timedelta(days=1)).isoformat()
    for step, body in (
        ("acknowledge", {"message": "We see both charges.", "our_part": "Our payment retry."}),
        ("apologize", {"message": "We are sorry for the scare."}),
        ("commit", {"promise": "The second charge is refunded today.", "due_at": due}),
    ):
        assert api.post(f"{url}/{step}/", body, format="json").status_code == 200

    deadline = time.monotonic() + 20
    while len(smtp_sink.received) < 3 and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.5)  # a duplicate, if any, would arrive now

    received = smtp_sink.received
    assert len(received) == 3
    ids = [m["Message-ID"] for m in received]
    assert len(set(ids)) == 3
    assert [m["In-Reply-To"] for m in received[1:]] == ids[:2]
    assert all(f"[{ticket['reference']}]" in m["Subject"] for m in received)
    assert received[0]["To"].addresses[0].addr_spec == "maria@example.com"
    assert "We are sorry for the scare." in not_none(received[1].get_body(("plain",))).get_content()
    statuses = set(
        Message.objects.filter(ticket_id=ticket["id"], author_kind="agent").values_list(
            "delivery_status", flat=True
        )
    )
    assert statuses == {Message.Delivery.SENT}
