"""Who may see and act on a ticket. The API's querysets use the same rule
(``tickets.selectors.tickets_visible_to``)."""

from accounts.models import User
from core.errors import NotPermitted
from tickets.models import Ticket
from tickets.models.ticket import VIEW_ALL


def can_view(user: User, ticket: Ticket) -> bool:
    if user.has_perm(VIEW_ALL):
        return True
    if ticket.assignee_id == user.pk:
        return True
    return ticket.queue_id is not None and user.queues.filter(pk=ticket.queue_id).exists()


def ensure_can_act(actor: User | None, ticket: Ticket) -> None:
    """Refuse an agent outside the ticket's queue, or not its assignee where
    the queue reserves its tickets to their assignees. ``None`` is the system."""
    if actor is None or actor.has_perm(VIEW_ALL):
        return
    if not actor.has_perm("tickets.change_ticket") or not can_view(actor, ticket):
        raise NotPermitted("You cannot work on this ticket.")
    reserved = ticket.queue is not None and ticket.queue.restrict_to_assignee
    if reserved and ticket.assignee_id != actor.pk:
        raise NotPermitted("Only the ticket's assignee may act on tickets of its queue.")
