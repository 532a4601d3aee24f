"""The issue's acceptance scenarios, through the API as an agent would."""

from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone

from accounts.models import User
from tests.helpers import client_for


@pytest.mark.django_db
def test_a_mishap_cannot_be_resolved_before_its_recovery_steps(
    agent: User, deliver_on_commit: Any
) -> None:
    api = client_for(agent)
    with deliver_on_commit(execute=True):
        created = api.post(
            "/api/v1/tickets/",
            {
                "subject": "My order arrived broken",
                "body": "The vase was in pieces.",
                "kind": "mishap",
                "severity": "major",
                "channel": "email",
                "customer_email": "maria@example.com",
                "customer_name": "Maria Silva",
            },
            format="json",
        )
    assert created.status_code == 201, created.json()
    ticket = created.json()
    assert ticket["status"] == "new"
    assert ticket["assignee"]["id"] == agent.pk
    assert ticket["missing_steps"] == ["acknowledge", "apologize", "commit"]
    url = f"/api/v1/tickets/{ticket['id']}"

    refused = api.post(f"{url}/resolve/", {"message": "Done."}, format="json")
    assert refused.status_code == 409
    assert refused.json()["missing_steps"] == ["acknowledge", "apologize", "commit"]

    due = (timezone.now() + timedelta(days=2)).isoformat()
    with deliver_on_commit(execute=True):
        steps = [
            ("acknowledge", {"message": "We got your message.", "our_part": "We packed it badly."}),
            ("apologize", {"message": "We are truly sorry."}),
            ("commit", {"promise": "A new vase ships today.", "due_at": due}),
        ]
        for name, body in steps:
            response = api.post(f"{url}/{name}/", body, format="json")
            assert response.status_code == 200, response.json()

    assert len(mail.outbox) == 3
    first, second, third = mail.outbox
    assert all(m.to == ["Maria Silva <maria@example.com>"] for m in mail.outbox)
    assert all(f"[HD-{ticket['id']:06d}]" in m.subject for m in mail.outbox)
    assert second.extra_headers["In-Reply-To"] == first.extra_headers["Message-ID"]
    assert third.extra_headers["In-Reply-To"] == second.extra_headers["Message-ID"]
    assert first.extra_headers["Message-ID"] in third.extra_headers["References"]

    with deliver_on_commit(execute=True):
        resolved = api.post(f"{url}/resolve/", {"message": "The new vase arrived."}, format="json")
    assert resolved.status_code == 200
    assert resolved.json()["status"] == "rebuilding"
    assert resolved.json()["commitments"][0]["kept"] is True


@pytest.mark.django_db
def test_a_question_needs_no_apology(agent: User, deliver_on_commit: Any) -> None:
    api = client_for(agent)
    ticket = api.post(
        "/api/v1/tickets/",
        {
            "subject": "Opening hours?",
            "body": "When are you open on Sunday?",
            "customer_email": "tom@example.com",
            "customer_name": "Tom Becker",
        },
        format="json",
    ).json()
    url = f"/api/v1/tickets/{ticket['id']}"
    assert ticket["kind"] == "question"
    assert ticket["missing_steps"] == ["acknowledge"]

    with deliver_on_commit(execute=True):
        assert (
            api.post(
                f"{url}/acknowledge/", {"message": "Thanks, looking."}, format="json"
            ).status_code
            == 200
        )
        resolved = api.post(f"{url}/resolve/", {"message": "10 to 4."}, format="json")
    assert resolved.json()["status"] == "resolved"
    closed = api.post(f"{url}/close/", {}, format="json")
    assert closed.json()["status"] == "closed"
    assert [e["action"] for e in closed.json()["history"]] == [
        "created",
        "acknowledge",
        "resolve",
        "followups_scheduled",  # the one "How did we do?" check-in
        "close",
    ]
