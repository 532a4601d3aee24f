"""Celery tasks of the inbound app."""

import logging

from celery import shared_task
from django.core.cache import cache

from inbound.imap import poll_configured_mailbox
from inbound.services import inbound_process_stalled

POLL_LOCK, POLL_LOCK_SECONDS = "inbound:imap-poll", 300

logger = logging.getLogger(__name__)


@shared_task(name="inbound.poll_imap", ignore_result=True)
def poll_imap_task() -> None:
    """Beat runs this every minute; without HELPDESK_IMAP_HOST it does nothing.
    One poll at a time (a slow mailbox must not pile polls up); were two to
    overlap, a message seen twice is still one, by its Message-ID or digest."""
    if not cache.add(POLL_LOCK, "1", POLL_LOCK_SECONDS):
        return
    try:
        result = poll_configured_mailbox()
    finally:
        cache.delete(POLL_LOCK)
    if result is not None and (result.stored or result.refused):
        logger.info("IMAP poll: %s", result)


@shared_task(name="inbound.process_stalled", ignore_result=True)
def process_stalled_task() -> None:
    """Messages stored by a process that died before handling them."""
    taken = inbound_process_stalled()
    if taken:
        logger.warning("Handled %s inbound messages left unhandled", taken)
