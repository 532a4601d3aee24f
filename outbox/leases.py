"""A batch's lease on its outbox rows: claiming due rows under a token,
renewing the claim on the rows still ahead, giving rows back, and retrying a
short write through a lost database connection for as long as the lease
holds (after that the rows may be another worker's)."""

import logging
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import TypeVar

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection, transaction

from core import clock
from outbox.failures import describe
from outbox.models import OutboxItem

# Delivery's one log, whichever module of it writes (operators filter on it).
logger = logging.getLogger("outbox.dispatch")

Status = OutboxItem.Status
T = TypeVar("T")


class Lease:
    """This batch's claim on its rows. Its deadlines are kept on
    ``monotonic_seconds``, a little inside the row's ``lease_until``."""

    def __init__(self, length: timedelta) -> None:
        self.token = uuid.uuid4()
        self.length = length
        self._mark(monotonic_seconds())

    def _mark(self, started: float) -> None:
        self.expires = started + self.length.total_seconds()
        self.renew_at = started + self.length.total_seconds() / 2

    def until(self) -> datetime:
        return clock.now() + self.length

    def renewed(self, started: float) -> None:
        self._mark(started)


def monotonic_seconds() -> float:
    """Seconds on a clock that goes on while the machine sleeps (Linux's
    CLOCK_BOOTTIME; the monotonic clock elsewhere), so a worker whose host
    was suspended past its lease knows its lease is gone when it wakes."""
    if hasattr(time, "CLOCK_BOOTTIME"):
        return time.clock_gettime(time.CLOCK_BOOTTIME)
    return time.monotonic()


def claim(item_ids: Sequence[int] | None, lease: Lease) -> list[OutboxItem]:
    """Take up to a batch of due rows under this lease, and read them back by
    its token: a connection lost as the claim commits leaves us not knowing
    whether it did, and the token tells (rows claimed and never read would
    otherwise wait for the lease to lapse)."""
    try:
        _claim_rows(item_ids, lease)
    except (OperationalError, InterfaceError) as exc:
        connection.close()
        logger.warning("Database connection lost while claiming: %s", describe(exc))
    mine = OutboxItem.objects.filter(lease_token=lease.token, status=Status.SENDING)
    return while_leased(lambda: list(mine.order_by("due_at", "id")), lease)


def _claim_rows(item_ids: Sequence[int] | None, lease: Lease) -> None:
    now = clock.now()
    with transaction.atomic():
        due = OutboxItem.objects.select_for_update(skip_locked=True).filter(
            status=Status.PENDING, due_at__lte=now
        )
        if item_ids is not None:
            due = due.filter(pk__in=item_ids)
        ids = list(
            due.order_by("due_at", "id").values_list("pk", flat=True)[
                : settings.HELPDESK_OUTBOX_BATCH
            ]
        )
        OutboxItem.objects.filter(pk__in=ids).update(
            status=Status.SENDING, lease_token=lease.token, lease_until=lease.until()
        )


def renew(items: Sequence[OutboxItem], lease: Lease) -> set[int]:
    """Extend the claim on the rows still ahead; returns those no longer ours."""
    started = monotonic_seconds()
    ids = [item.pk for item in items]
    renewed = OutboxItem.objects.filter(
        pk__in=ids, status=Status.SENDING, lease_token=lease.token
    ).update(lease_until=lease.until())
    lease.renewed(started)
    if renewed == len(ids):
        return set()
    ours = set(
        OutboxItem.objects.filter(pk__in=ids, lease_token=lease.token).values_list("pk", flat=True)
    )
    return set(ids) - ours


def release(ids: Sequence[int], lease: Lease) -> None:
    OutboxItem.objects.filter(pk__in=ids, status=Status.SENDING, lease_token=lease.token).update(
        status=Status.PENDING, lease_token=None, lease_until=None
    )


def release_quietly(ids: Sequence[int], lease: Lease) -> None:
    try:
        release(ids, lease)
    except Exception as exc:  # noqa: BLE001 - the sweep reclaims them when the lease lapses
        logger.warning("Could not release %s outbox rows: %s", len(ids), describe(exc))
        connection.close()


def while_leased(write: Callable[[], T], lease: Lease) -> T:
    """Run ``write`` (a short transaction), again on a new connection if the
    database connection was lost, for as long as the lease holds: after
    that the row may be another worker's."""
    pause = 0.2
    while True:
        try:
            return write()
        except (OperationalError, InterfaceError) as exc:
            connection.close()  # the next query opens a new one
            if monotonic_seconds() + pause >= lease.expires:
                raise
            logger.warning("Database connection lost, trying again: %s", describe(exc))
            time.sleep(pause)
            pause = min(pause * 2, 5.0)
