from tickets.models.conversation import Attachment, Message
from tickets.models.queues import Queue, SeverityTarget
from tickets.models.records import Alert, Commitment, TicketEvent
from tickets.models.ticket import Channel, Kind, Severity, Status, Ticket

__all__ = [
    "Alert",
    "Attachment",
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
