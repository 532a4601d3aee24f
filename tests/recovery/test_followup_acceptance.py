"""The issue's acceptance, end to end: a mishap resolved through the API gets
its three follow-ups in the customer's morning; as time moves forward a real
Celery worker on Redis delivers each to a real SMTP server exactly once; the
feedback link records a rating; one-click unsubscribe cancels the rest."""

import re
import time
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from celery.contrib.testing.worker import TestWorkController
from django.test import Client
from django.utils import timezone

from accounts.services import customer_upsert
from recovery.models import Feedback, FollowUp
from recovery.services.followups import followups_claim_due
from tests.factories import StaffFactory
from tests.helpers import client_for, not_none
from tests.smtp import SmtpSink


def wait_for_mail(sink: SmtpSink, count: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while len(sink.received) < count and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.3)  # a duplicate would arrive now


@pytest.mark.django_db(transaction=True)
def test_follow_ups_arrive_once_each_in_the_customers_morning(
    celery_worker: TestWorkController, smtp_sink: SmtpSink
) -> None:
    customer_upsert(email="aiko@example.com", name="Aiko Tanaka", time_zone="Asia/Tokyo")
    api = client_for(StaffFactory())
    ticket = api.post(
        "/api/v1/tickets/",
        {
            "subject": "Vase broken in transit",
            "body": "It arrived in pieces.",
            "kind": "mishap",
            "severity": "major",
            "customer_email": "aiko@example.com",
            "customer_name": "Aiko Tanaka",
        },
        format="json",
    ).json()
    url = f"/api/v1/tickets/{ticket['id']}"
    due = (timezone.now() + timedelta(days=1)).isoformat()
    for step, body in (
        ("acknowledge", {"message": "We see it.", "our_part": "We packed it badly."}),
        ("apologize", {"message": "We are sorry."}),
        ("commit", {"promise": "A new vase ships today.", "due_at": due}),
        ("resolve", {"message": "The new vase is with you."}),
    ):
        assert api.post(f"{url}/{step}/", body, format="json").status_code == 200
    wait_for_mail(smtp_sink, 4)  # the four step emails
    smtp_sink.handler.envelopes.clear()

    followups = api.get(f"{url}/follow-ups/").json()
    assert [f["offset_days"] for f in followups] == [1, 7, 30]

    # Day 1 comes: the sweep queues it, the worker sends it.
    first = FollowUp.objects.get(pk=followups[0]["id"])
    followups_claim_due(now=first.due_at + timedelta(minutes=1))
    wait_for_mail(smtp_sink, 1)
    [mail] = smtp_sink.received
    assert mail["Message-ID"] == first.message_id
    told = not_none(mail.get_body(("plain",))).get_content()
    assert "A new vase ships today." in told  # the promise, kept
    assert "We packed it badly." not in told  # our part is the staff's
    # The sweep again, later the same day: nothing is sent twice.
    followups_claim_due(now=first.due_at + timedelta(hours=2))
    wait_for_mail(smtp_sink, 2, timeout=2)
    assert len(smtp_sink.received) == 1

    # The customer rates us from the link in that email.
    text = not_none(mail.get_body(("plain",))).get_content()
    feedback_path = not_none(re.search(r"https?://[^/]+(/feedback/[^\s]+/)", text)).group(1)
    assert Client().post(feedback_path, {"rating": "5"}).status_code == 200
    assert Feedback.objects.get().rating == 5

    # Day 7, then one-click unsubscribe: day 30 is cancelled.
    second = FollowUp.objects.get(pk=followups[1]["id"])
    followups_claim_due(now=second.due_at + timedelta(minutes=1))
    wait_for_mail(smtp_sink, 2)
    assert len(smtp_sink.received) == 2
    unsubscribe = str(smtp_sink.received[1]["List-Unsubscribe"]).strip()
    path = not_none(re.search(r"https?://[^/]+(/unsubscribe/[^>]+/)", unsubscribe)).group(1)
    assert Client().post(path, {"List-Unsubscribe": "One-Click"}).status_code == 200

    statuses = [
        (f.offset_days, f.status)
        for f in FollowUp.objects.filter(ticket_id=ticket["id"]).order_by("due_at")
    ]
    assert statuses == [(1, "sent"), (7, "sent"), (30, "cancelled")]
    tokyo = [f.due_at.astimezone(ZoneInfo("Asia/Tokyo")) for f in (first, second)]
    assert all(9 <= t.hour < 11 for t in tokyo)
