from typing import Any

from accounts.models import User
from core.inserts import inserted
from tickets.models import Ticket, TicketEvent


def record_event(
    *,
    ticket: Ticket,
    actor: User | None,
    action: str,
    from_status: str = "",
    to_status: str = "",
    payload: dict[str, Any] | None = None,
) -> TicketEvent:
    """Append to the ticket's history. Call inside the change's transaction."""
    return inserted(
        TicketEvent(
            ticket=ticket,
            actor=actor,
            action=action,
            from_status=from_status,
            to_status=to_status,
            payload=payload or {},
        )
    )
