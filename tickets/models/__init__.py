from tickets.models.conversation import Message
from tickets.models.queues import Queue, SeverityTarget
from tickets.models.records import Alert, Commitment, TicketEvent
from tickets.models.ticket import Channel, Kind, Severity, Status, Ticket

__all__ = [
    "Alert",
    "Channel",
    "Commitment",
    "Kind",
    "Message",
    "Queue",
    "Severity",
    "SeverityTarget",
    "Status",
    "Ticket",
    "TicketEvent",
]
