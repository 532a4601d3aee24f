"""The ticket's steps as the console shows them: their labels, and the step an
open ticket takes next (the queue's rows, the ticket page, the step actions)."""

from tickets import workflow
from tickets.models import Ticket

STEP_LABELS = {
    "acknowledge": "Acknowledge",
    "apologize": "Apologize",
    "commit": "Commit",
    "resolve": "Resolve",
    "close": "Close",
    "restore": "End rebuilding",
    "reopen": "Reopen",
    "settle_pending_approvals": "Settle the pending approval",
}


def next_step(ticket: Ticket) -> str:
    """The step an open ticket takes next, from the state machine: the first
    missing before it can be resolved, or resolving itself. Read through the
    list's prefetches (commitments, restitutions)."""
    if not ticket.is_open:
        return ""
    missing = workflow.steps_to_resolve(ticket)
    return missing[0] if missing else "resolve"
