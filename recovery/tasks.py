"""Celery tasks of the recovery app: each takes ids and calls one service."""

from celery import shared_task

from recovery.metrics.rollup import daily_figures_refresh
from recovery.services.followups import (
    SWEEP_BATCH,
    followups_claim_due,
    tickets_restore_finished,
)
from recovery.services.idempotency import idempotency_keys_purge

# At most this many batches of SWEEP_BATCH per beat run (10,000 a minute).
SWEEPS_PER_RUN = 20


@shared_task(name="recovery.purge_idempotency_keys")
def purge_idempotency_keys() -> int:
    return idempotency_keys_purge()


@shared_task(name="recovery.sweep_followups")
def sweep_followups() -> int:
    """Hand every due follow-up to the outbox, a batch at a time (each batch its own short
    transaction): one batch a minute would cap sending at 500 a minute. Bounded,
    so a huge backlog is spread over a few runs instead of one endless one."""
    queued = 0
    for _ in range(SWEEPS_PER_RUN):
        batch = len(followups_claim_due())
        queued += batch
        if batch < SWEEP_BATCH:
            break
    return queued


@shared_task(name="recovery.restore_finished_tickets")
def restore_finished_tickets() -> int:
    return tickets_restore_finished()


@shared_task(name="recovery.refresh_daily_figures")
def refresh_daily_figures() -> int:
    """The dashboard's stored days brought up to date (recovery/metrics/rollup.py);
    running it twice writes the same rows again."""
    return daily_figures_refresh()
