"""Celery tasks of the inbound app."""

import logging

from celery import shared_task

from inbound.imap import poll_configured_mailbox

logger = logging.getLogger(__name__)


@shared_task(name="inbound.poll_imap", ignore_result=True)
def poll_imap_task() -> None:
    """Beat runs this every minute; without HELPDESK_IMAP_HOST it does nothing.
    Two polls at once are harmless: the second delivery of a message is a
    duplicate by its Message-ID."""
    result = poll_configured_mailbox()
    if result is not None and (result.stored or result.refused):
        logger.info("IMAP poll: %s", result)
