"""The Celery wiring, with a real worker consuming from Redis."""

import time
from typing import Any

import pytest
from celery import shared_task
from celery.contrib.testing.worker import TestWorkController
from celery.fixups.django import DjangoWorkerFixup  # type: ignore[attr-defined]  # not in celery-types
from celery.signals import task_postrun, task_prerun
from django.core.cache import cache
from django.db import connection, transaction

from accounts.models import Customer
from accounts.services import customer_upsert
from helpdesk.celery import app as celery_app
from helpdesk.heartbeat import HEARTBEAT_KEY, heartbeat
from tests.helpers import wait_for

SEEN_KEY = "test-celery-seen-{}"


@shared_task(name="tests.record_customer_seen")
def record_customer_seen(customer_id: int) -> None:
    """Records what the worker saw of the row, "missing" if it was not committed yet."""
    try:
        seen = Customer.objects.get(pk=customer_id).name
    except Customer.DoesNotExist:
        seen = "missing"
    cache.set(SEEN_KEY.format(customer_id), seen, timeout=60)


def test_celery_settings_are_the_ones_spec_decides() -> None:
    conf = celery_app.conf
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1
    assert conf.task_serializer == "json"
    assert conf.accept_content == ["json"]
    assert conf.task_soft_time_limit < conf.task_time_limit
    assert conf.broker_url.startswith("redis://")


def test_every_beat_entry_names_a_registered_task() -> None:
    celery_app.loader.import_default_modules()
    for name, entry in celery_app.conf.beat_schedule.items():
        assert entry["task"] in celery_app.tasks, name


def _around_a_task(task: Any) -> None:
    task_prerun.send(sender=task, task_id="t", task=task, args=(), kwargs={})
    task_postrun.send(sender=task, task_id="t", task=task, args=(), kwargs={}, retval=None)


@pytest.mark.django_db(transaction=True)
def test_a_worker_keeps_its_database_connection_until_conn_max_age() -> None:
    """Around each task, what Django closes around a request and only that:
    Celery's own fixup would close every connection after every task."""
    task = celery_app.tasks["helpdesk.heartbeat"]
    connection.ensure_connection()
    kept = connection.connection
    connection.close_at = time.monotonic() + 60  # as CONN_MAX_AGE=60 (production) sets it

    _around_a_task(task)
    DjangoWorkerFixup(celery_app).on_task_postrun(sender=task)

    assert connection.connection is kept
    connection.close_at = time.monotonic() - 1  # older than CONN_MAX_AGE
    _around_a_task(task)
    assert connection.connection is None


@pytest.mark.django_db(transaction=True)
def test_an_eager_task_leaves_its_callers_connection_alone() -> None:
    task = celery_app.tasks["helpdesk.heartbeat"]
    connection.ensure_connection()
    kept = connection.connection
    connection.close_at = time.monotonic() - 1
    task.push_request(is_eager=True)
    try:
        _around_a_task(task)
    finally:
        task.pop_request()
    assert connection.connection is kept


@pytest.mark.django_db(transaction=True)
def test_task_queued_on_commit_sees_the_committed_row(celery_worker: TestWorkController) -> None:
    with transaction.atomic():
        customer, _ = customer_upsert(email="ines@example.com", name="Inês Duarte")
        record_customer_seen.delay_on_commit(customer.pk)  # type: ignore[attr-defined]  # celery-types predates it
        # Were the task sent now, the running worker would find no row; give it
        # the time to try before committing.
        time.sleep(0.5)
        assert cache.get(SEEN_KEY.format(customer.pk)) is None

    assert wait_for(lambda: cache.get(SEEN_KEY.format(customer.pk))) == "Inês Duarte"


@pytest.mark.django_db(transaction=True)
def test_rolled_back_transaction_queues_nothing(celery_worker: TestWorkController) -> None:
    class Abort(Exception):
        pass

    def create_then_fail() -> Customer:
        with transaction.atomic():
            customer, _ = customer_upsert(email="rollback@example.com", name="Never Saved")
            record_customer_seen.delay_on_commit(customer.pk)  # type: ignore[attr-defined]  # celery-types predates it
            raise Abort(customer)

    with pytest.raises(Abort) as aborted:
        create_then_fail()
    customer = aborted.value.args[0]

    # A later task on the same queue runs, so the first would have run by then.
    marker, _ = customer_upsert(email="marker@example.com", name="Marker")
    record_customer_seen.delay(marker.pk)
    wait_for(lambda: cache.get(SEEN_KEY.format(marker.pk)))
    assert cache.get(SEEN_KEY.format(customer.pk)) is None


@pytest.mark.django_db(transaction=True)
def test_worker_runs_the_heartbeat(celery_worker: TestWorkController) -> None:
    cache.delete(HEARTBEAT_KEY)

    heartbeat.delay(source="web", queued_at="2026-11-23T10:00:00+00:00")

    record = wait_for(lambda: cache.get(HEARTBEAT_KEY))
    assert isinstance(record, dict)
    assert record["source"] == "web"
    assert record["queued_at"] == "2026-11-23T10:00:00+00:00"
