"""A desk's history for the figures: tickets, grants, follow-ups and ratings
written straight into the past (``varied_desk``, ``older_history``), or
through the services (``mishap_with_grant``). The daily-figures, metrics and
dashboard tests share it."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from accounts.models import Customer, User
from accounts.roles import Role
from recovery.models import ApprovalRequest, Feedback, FollowUp, Restitution, SpendEntry
from recovery.services import restitution_grant
from recovery.services.followup_responses import feedback_record
from tests.factories import StaffFactory, TicketFactory, advance
from tests.helpers import today
from tickets.models import Commitment, Kind, Ticket
from tickets.services import ticket_resolve

# East of UTC and far from it, so a desk's day is not UTC's.
ZONE = "Pacific/Auckland"
SPAN = 12  # days of history
DAYS_WITH_DATA = SPAN + 1 + 7  # to a follow-up due in a week


def at(day: date, hour: int = 12, minute: int = 0, second: int = 0, micro: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute, second, micro), tzinfo=ZoneInfo(ZONE))


@dataclass
class Desk:
    agents: list[User]
    supervisor: User
    tickets: list[Ticket]
    late_mishap_customer: Customer


def ticket(
    day: datetime,
    *,
    kind: str = Kind.QUESTION,
    ack_minutes: float | None = None,
    apologized: bool = False,
    repeat: bool = False,
    email: str | None = None,
    agent: User | None = None,
) -> Ticket:
    extra = {"customer_email": email} if email else {}
    made = TicketFactory(kind=kind, **({"actor": agent} if agent else {}), **extra)
    Ticket.objects.filter(pk=made.pk).update(
        created_at=day,
        acknowledged_at=day + timedelta(minutes=ack_minutes) if ack_minutes is not None else None,
        apologized_at=day + timedelta(minutes=5) if apologized else None,
        is_repeat_failure=repeat,
    )
    made.refresh_from_db()
    return made


def followup(on: Ticket, due: datetime, status: str, n: int = 1) -> FollowUp:
    return FollowUp.objects.create(
        ticket=on,
        customer=on.customer,
        step_number=n,
        offset_days=n,
        subject_template="How are we doing?",
        body_template="Tell us.",
        due_at=due,
        status=status,
        sent_at=due if status == FollowUp.Status.SENT else None,
    )


def grant(
    on: Ticket,
    by: User,
    amount: str,
    *,
    when: datetime,
    kind: str = "refund",
    currency: str = "USD",
    loss: str | None = None,
    status: str = Restitution.Status.GRANTED,
) -> Restitution:
    made = Restitution.objects.create(
        ticket=on,
        customer=on.customer,
        agent=by,
        kind=kind,
        amount=Decimal(amount),
        currency=currency,
        reason="Sorry.",
        customer_loss=Decimal(loss) if loss else None,
        status=status,
        charged_to=by,
        created_at=when,
    )
    SpendEntry.objects.create(
        user=by,
        restitution=made,
        ticket=on,
        customer=on.customer,
        amount=Decimal(amount),
        currency=currency,
        created_at=when,
    )
    return made


def varied_desk() -> Desk:
    """Every figure non-trivial, over SPAN days up to today, with tickets a
    moment either side of the desk's midnight."""
    agents = [StaffFactory(role=Role.AGENT, username=name) for name in ("zed", "Amy", "bea")]
    supervisor = StaffFactory(role=Role.SUPERVISOR, username="sup")
    first = today(ZONE) - timedelta(days=SPAN)
    tickets: list[Ticket] = []
    for n in range(SPAN + 1):
        day = first + timedelta(days=n)
        agent = agents[n % 3]
        tickets += [
            ticket(at(day, 0, 0, 0), kind=Kind.MISHAP, ack_minutes=3 + n, apologized=n % 2 == 0),
            ticket(at(day, 23, 59, 59, 999_999), kind=Kind.MISHAP, ack_minutes=17.5 * (n % 4)),
            ticket(at(day, 9, 30), ack_minutes=(n * 37) % 240, repeat=n % 5 == 0),
            ticket(at(day, 14), kind=Kind.MISHAP, repeat=n % 3 == 0, agent=agent),
        ]
        mishap = tickets[-1]
        # Promises: kept, broken, fulfilled days after, and open.
        Commitment.objects.create(
            ticket=mishap, promise="Refund", due_at=at(day, 18), fulfilled_at=at(day, 17)
        )
        Commitment.objects.create(
            ticket=tickets[-2],
            promise="Call back",
            due_at=at(day, 23, 59, 59),
            fulfilled_at=at(day + timedelta(days=3), 10) if n % 2 else None,
        )
        # Spend: three people, two kinds, two currencies, and a void.
        grant(mishap, agent, f"{10 + n}.50", when=at(day, 15), loss=f"{20 + 3 * n}.00")
        grant(mishap, agents[(n + 1) % 3], "7.25", when=at(day, 23, 59), kind="credit")
        if n % 4 == 0:
            voided = grant(mishap, agent, "3.00", when=at(day, 16), currency="EUR", status="voided")
            SpendEntry.objects.create(
                user=agent,
                restitution=voided,
                ticket=mishap,
                customer=mishap.customer,
                amount=Decimal("-3.00"),
                currency="EUR",
                created_at=at(day, 16, 30),
            )
        if n % 3 == 1:
            pending = grant(mishap, agent, "120.00", when=at(day, 10), status="approved")
            ApprovalRequest.objects.create(
                restitution=pending,
                requested_by=agent,
                status=ApprovalRequest.Status.APPROVED,
                created_at=at(day - timedelta(days=1), 22),
                decided_by=supervisor,
                decided_at=at(day, 0, 30 + n),
            )
        # Follow-ups due that day: sent and rated, sent, failed, scheduled.
        rated = followup(mishap, at(day, 11), FollowUp.Status.SENT)
        Feedback.objects.create(
            ticket=mishap,
            customer=mishap.customer,
            followup=rated,
            rating=1 + n % 5,
            created_at=at(day, 23, 30),
        )
        followup(tickets[-2], at(day, 12), FollowUp.Status.SENT)
        followup(tickets[-3], at(day, 13), FollowUp.Status.FAILED)
        followup(tickets[-4], at(day, 13), FollowUp.Status.SCHEDULED, n=2)
        question = tickets[-2]
        Feedback.objects.create(
            ticket=question,
            customer=question.customer,
            rating=5 - n % 3,
            created_at=at(day, 0, 0, 1),
        )
    # Ratings of a mishap with no loss stated, and of one paid well over the loss.
    for loss, rating in ((None, 4), ("5.00", 2)):
        rated_mishap = ticket(at(first + timedelta(days=2), 8), kind=Kind.MISHAP)
        grant(rated_mishap, agents[0], "30.00", when=at(first + timedelta(days=2), 9), loss=loss)
        Feedback.objects.create(
            ticket=rated_mishap,
            customer=rated_mishap.customer,
            rating=rating,
            created_at=at(first + timedelta(days=3), 9),
        )
    # A customer rated a question on day 1 and had their first mishap on day 8.
    email = "late-mishap@example.com"
    question = ticket(at(first + timedelta(days=1), 9), email=email)
    Feedback.objects.create(
        ticket=question, customer=question.customer, rating=5, created_at=at(first, 23, 59)
    )
    ticket(at(first + timedelta(days=8), 9), kind=Kind.MISHAP, email=email)
    # A promise due tomorrow and a follow-up due next week.
    Commitment.objects.create(
        ticket=tickets[-3], promise="Ship", due_at=at(today(ZONE), 23) + timedelta(days=1)
    )
    followup(tickets[-1], at(today(ZONE) + timedelta(days=7), 9), FollowUp.Status.SCHEDULED, n=3)
    return Desk(agents, supervisor, tickets, question.customer)


def older_history(days: int) -> None:
    """A mishap with a grant every third day, back to ``days`` days ago."""
    desk = varied_desk()
    for n in range(20, days, 3):
        day = today(ZONE) - timedelta(days=n)
        mishap = ticket(at(day, 10), kind=Kind.MISHAP, ack_minutes=n % 90)
        grant(mishap, desk.agents[n % 3], "12.00", when=at(day, 11), loss="10.00")


def mishap_with_grant(
    agent: User,
    amount: str | None,
    *,
    kind: str = "refund",
    rating: int = 5,
    loss: str | None = None,
) -> Ticket:
    """A mishap walked to rebuilding with a grant by ``agent`` (none when
    ``amount`` is None; ``loss`` the customer's loss it states) and the
    customer's rating on its first follow-up, all through the services."""
    ticket = advance(TicketFactory(actor=agent, kind=Kind.MISHAP), to="committed")
    if amount is not None:
        restitution_grant(
            ticket=ticket,
            actor=agent,
            kind=kind,
            amount=amount,
            currency="USD",
            reason="Sorry.",
            customer_loss=loss,
        )
    ticket = ticket_resolve(ticket=ticket, actor=agent, message="The refund is on its way.")
    followup = ticket.followups.order_by("due_at").first()
    assert followup is not None
    feedback_record(followup=followup, rating=rating)
    return ticket
