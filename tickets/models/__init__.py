from tickets.models.conversation import Attachment, Message
from tickets.models.notifications import Notification, NotificationKind, NotificationPreference
from tickets.models.queues import Queue, SeverityTarget
from tickets.models.records import Alert, Commitment, TicketEvent
from tickets.models.saved_replies import ReplyStep, SavedReply
from tickets.models.search import TicketSearch
from tickets.models.ticket import Channel, Kind, Severity, Status, Ticket

__all__ = [
    "Alert",
    "Attachment",
    "Channel",
    "Commitment",
    "Kind",
    "Message",
    "Notification",
    "NotificationKind",
    "NotificationPreference",
    "Queue",
    "ReplyStep",
    "SavedReply",
    "Severity",
    "SeverityTarget",
    "Status",
    "Ticket",
    "TicketEvent",
    "TicketSearch",
]
