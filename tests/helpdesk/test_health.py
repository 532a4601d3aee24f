from typing import Any
from unittest import mock

import pytest
from django.core.cache import cache
from django.db import OperationalError, connection
from django.test import Client

from helpdesk.celery import app as celery_app
from helpdesk.heartbeat import HEARTBEAT_KEY, heartbeat


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    cache.clear()


@pytest.mark.django_db
def test_healthy_when_database_and_broker_answer() -> None:
    response = Client().get("/healthz")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"] == {"database": "ok", "broker": "ok"}
    assert response["Cache-Control"].startswith("max-age=0")


@pytest.mark.django_db
def test_unavailable_when_the_database_is_down() -> None:
    with mock.patch.object(
        connection, "ensure_connection", side_effect=OperationalError("connection refused")
    ):
        response = Client().get("/healthz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"] == {"database": "unreachable", "broker": "ok"}


@pytest.mark.django_db
def test_unavailable_when_the_broker_is_down(monkeypatch: Any) -> None:
    # Nothing listens on port 1; the probe must fail fast, not hang.
    monkeypatch.setattr(celery_app.conf, "broker_url", "redis://127.0.0.1:1/0")

    response = Client().get("/healthz")

    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "ok", "broker": "unreachable"}


@pytest.mark.django_db
def test_reports_the_last_worker_heartbeat() -> None:
    assert Client().get("/healthz").json()["worker"]["last_seen"] is None

    heartbeat.run(source="beat")  # as a worker would
    worker = Client().get("/healthz").json()["worker"]

    assert worker["source"] == "beat"
    assert worker["last_seen"] == cache.get(HEARTBEAT_KEY)["ran_at"]
    assert 0 <= worker["age_seconds"] < 5


@pytest.mark.django_db
def test_queues_at_most_one_heartbeat_per_interval() -> None:
    with mock.patch.object(heartbeat, "delay") as delay:
        Client().get("/healthz")
        Client().get("/healthz")

    delay.assert_called_once()
    assert delay.call_args.kwargs["source"] == "web"


def test_only_get_is_allowed() -> None:
    assert Client().post("/healthz").status_code == 405
