"""Demo tickets in every state of the lifecycle, made through the services
so they carry the same history, messages and emails as real ones."""

from datetime import timedelta

from django.conf import settings

from accounts.models import User
from core import clock
from recovery.services import restitution_grant
from tickets.models import Kind, Queue, Status, Ticket
from tickets.services import (
    queue_create,
    ticket_acknowledge,
    ticket_apologize,
    ticket_close,
    ticket_commit,
    ticket_create,
    ticket_resolve,
    ticket_restore,
)

QUEUES = (("Orders", "orders"), ("Billing", "billing"))

# subject, body, kind, severity, channel, customer email, queue, final status
DEMO_TICKETS = (
    (
        "Do you ship to Iceland?",
        "Can I order to Reykjavik?",
        Kind.QUESTION,
        "minor",
        "email",
        "james.oconnor@example.com",
        "orders",
        Status.NEW,
    ),
    (
        "Invoice address change",
        "Please put my company name on invoices.",
        Kind.QUESTION,
        "minor",
        "web",
        "lena.fischer@example.com",
        "billing",
        Status.ACKNOWLEDGED,
    ),
    (
        "Gift wrapping available?",
        "Is gift wrap possible for a birthday?",
        Kind.QUESTION,
        "minor",
        "chat",
        "aiko.tanaka@example.com",
        "orders",
        Status.RESOLVED,
    ),
    (
        "Receipt for March",
        "I need the receipt of my March order.",
        Kind.QUESTION,
        "minor",
        "email",
        "priya.raman@example.com",
        "billing",
        Status.CLOSED,
    ),
    (
        "Charged twice for one order",
        "My card shows two charges of 84.00.",
        Kind.MISHAP,
        "major",
        "phone",
        "maria.silva@example.com",
        "billing",
        Status.NEW,
    ),
    (
        "Wrong size delivered",
        "I ordered a medium and got an XXL.",
        Kind.MISHAP,
        "minor",
        "email",
        "tom.becker@example.com",
        "orders",
        Status.ACKNOWLEDGED,
    ),
    (
        "Birthday cake arrived a day late",
        "The party was yesterday.",
        Kind.MISHAP,
        "critical",
        "phone",
        "lena.fischer@example.com",
        "orders",
        Status.APOLOGIZED,
    ),
    (
        "Subscription cancelled by mistake",
        "My plan vanished overnight.",
        Kind.MISHAP,
        "major",
        "social",
        "james.oconnor@example.com",
        "billing",
        Status.COMMITTED,
    ),
    (
        "Vase broken in transit",
        "It arrived in pieces.",
        Kind.MISHAP,
        "major",
        "email",
        "aiko.tanaka@example.com",
        "orders",
        Status.REBUILDING,
    ),
    (
        "Missed installation appointment",
        "Nobody came between 8 and 12.",
        Kind.MISHAP,
        "critical",
        "phone",
        "priya.raman@example.com",
        "orders",
        Status.RESTORED,
    ),
)

# subject: (kind, amount, reason, the customer's loss). Within an agent's
# default authority it is granted; above it, it waits for Sam's approval.
DEMO_RESTITUTIONS = {
    "Vase broken in transit": ("refund", "35.00", "Refund of the broken vase.", "35.00"),
    "Subscription cancelled by mistake": (
        "credit",
        "80.00",
        "Two months of the plan, for the lost access.",
        "60.00",
    ),
}

_MISHAP_PATH = (
    Status.ACKNOWLEDGED,
    Status.APOLOGIZED,
    Status.COMMITTED,
    Status.REBUILDING,
    Status.RESTORED,
)
_QUESTION_PATH = (Status.ACKNOWLEDGED, Status.RESOLVED, Status.CLOSED)


def seed_demo_queues(*, agents: list[User]) -> dict[str, Queue]:
    """The demo queues, created where missing, with the agents as members."""
    queues = {}
    for name, slug in QUEUES:
        existing = Queue.objects.filter(slug=slug).first()
        queues[slug] = existing or queue_create(name=name, slug=slug, members=agents)
    return queues


def seed_demo_tickets(*, agents: list[User]) -> int:
    """Create what is missing; returns how many tickets were created."""
    queues = seed_demo_queues(agents=agents)
    created = 0
    for index, (subject, body, kind, severity, channel, email, queue, status) in enumerate(
        DEMO_TICKETS
    ):
        if Ticket.objects.filter(subject=subject, customer__email__iexact=email).exists():
            continue
        agent = agents[index % len(agents)]
        customer_name = email.split("@")[0].replace(".", " ").title()
        ticket, _ = ticket_create(
            actor=agent,
            subject=subject,
            body=body,
            kind=kind,
            severity=severity,
            channel=channel,
            customer_email=email,
            customer_name=customer_name,
            queue=queues[queue],
        )
        _walk(ticket, agent, Status(status))
        if subject in DEMO_RESTITUTIONS:
            grant_kind, amount, reason, loss = DEMO_RESTITUTIONS[subject]
            restitution_grant(
                ticket=ticket,
                actor=agent,
                kind=grant_kind,
                amount=amount,
                currency=settings.DEFAULT_CURRENCY,
                reason=reason,
                customer_loss=loss,
            )
        created += 1
    return created


def _walk(ticket: Ticket, agent: User, status: Status) -> None:
    path = _MISHAP_PATH if ticket.kind == Kind.MISHAP else _QUESTION_PATH
    for step in path:
        if ticket.status == status:
            return
        ticket = _step(ticket, agent, step)


def _step(ticket: Ticket, agent: User, target: Status) -> Ticket:
    name = ticket.customer.name.split()[0]
    if target == Status.ACKNOWLEDGED:
        return ticket_acknowledge(
            ticket=ticket,
            actor=agent,
            message=f"Hello {name}, thank you for telling us. I am looking into it now.",
            our_part="We got this wrong on our side." if ticket.kind == Kind.MISHAP else None,
        )
    if target == Status.APOLOGIZED:
        return ticket_apologize(
            ticket=ticket,
            actor=agent,
            message=f"{name}, I am truly sorry. You trusted us with this and we let you down.",
        )
    if target == Status.COMMITTED:
        return ticket_commit(
            ticket=ticket,
            actor=agent,
            promise="I will put this right and write to you again by tomorrow evening.",
            due_at=clock.now() + timedelta(days=1),
        )
    if target in (Status.RESOLVED, Status.REBUILDING):
        return ticket_resolve(
            ticket=ticket,
            actor=agent,
            message="It is done, as promised. Thank you for your patience.",
        )
    if target == Status.CLOSED:
        return ticket_close(ticket=ticket, actor=agent)
    if target == Status.RESTORED:
        return ticket_restore(ticket=ticket, actor=agent, reason="Follow-ups complete; all well.")
    raise ValueError(f"no demo step to {target}")
