"""Every change to tickets goes through one of these functions."""

from tickets.services.alerts import alert_raise
from tickets.services.lifecycle import (
    ticket_acknowledge,
    ticket_apologize,
    ticket_close,
    ticket_commit,
    ticket_reopen,
    ticket_resolve,
    ticket_restore,
)
from tickets.services.messages import message_create, message_receive
from tickets.services.queues import queue_create, queue_update, severity_target_set
from tickets.services.tickets import ticket_convert_to_mishap, ticket_create, ticket_update
from tickets.services.timeliness import tickets_close_quiet, timeliness_check

__all__ = [
    "alert_raise",
    "message_create",
    "message_receive",
    "queue_create",
    "queue_update",
    "severity_target_set",
    "ticket_acknowledge",
    "ticket_apologize",
    "ticket_close",
    "ticket_commit",
    "ticket_convert_to_mishap",
    "ticket_create",
    "ticket_reopen",
    "ticket_resolve",
    "ticket_restore",
    "ticket_update",
    "tickets_close_quiet",
    "timeliness_check",
]
