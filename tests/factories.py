"""Factories build rows through the services, so test data obeys the same
rules as real data."""

from datetime import timedelta
from typing import TYPE_CHECKING, Any

import factory
from django.utils import timezone

from accounts.models import Customer, User
from accounts.roles import Role
from accounts.services import customer_upsert, staff_upsert
from tickets.models import Channel, Kind, Queue, Severity, Ticket
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

TEST_PASSWORD = "correct-horse-battery-staple"


class StaffFactory(factory.Factory):
    class Meta:
        model = User

    username = factory.Sequence(lambda n: f"staff{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@staff.example")
    role = Role.AGENT
    password = TEST_PASSWORD

    if TYPE_CHECKING:
        # Calling a factory returns the row it made, not the factory:
        # factory_boy does not say so to the type checker.
        def __new__(cls, *args: Any, **kwargs: Any) -> User: ...  # type: ignore[misc]

    @classmethod
    def _create(cls, model_class: type[User], *args: Any, **kwargs: Any) -> User:
        return staff_upsert(**kwargs).user


class CustomerFactory(factory.Factory):
    class Meta:
        model = Customer

    name = factory.Faker("name")
    email = factory.Sequence(lambda n: f"customer{n}@example.com")
    time_zone = "Europe/Berlin"
    locale = "en"

    if TYPE_CHECKING:
        # Calling a factory returns the row it made, not the factory:
        # factory_boy does not say so to the type checker.
        def __new__(cls, *args: Any, **kwargs: Any) -> Customer: ...  # type: ignore[misc]

    @classmethod
    def _create(cls, model_class: type[Customer], *args: Any, **kwargs: Any) -> Customer:
        return customer_upsert(**kwargs)[0]


class QueueFactory(factory.Factory):
    class Meta:
        model = Queue

    name = factory.Sequence(lambda n: f"Queue {n}")
    slug = factory.Sequence(lambda n: f"queue-{n}")
    members: list[User] = []
    restrict_to_assignee = False

    if TYPE_CHECKING:
        # Calling a factory returns the row it made, not the factory:
        # factory_boy does not say so to the type checker.
        def __new__(cls, *args: Any, **kwargs: Any) -> Queue: ...  # type: ignore[misc]

    @classmethod
    def _create(cls, model_class: type[Queue], *args: Any, **kwargs: Any) -> Queue:
        return queue_create(**kwargs)


class TicketFactory(factory.Factory):
    """A new ticket opened by ``actor`` (an agent by default, who becomes its assignee)."""

    class Meta:
        model = Ticket

    actor = factory.LazyFunction(lambda: StaffFactory(role=Role.AGENT))
    subject = factory.Sequence(lambda n: f"Problem number {n}")
    body = "Something went wrong with my order."
    kind = Kind.QUESTION
    severity = Severity.MINOR
    channel = Channel.EMAIL
    customer_email = factory.Sequence(lambda n: f"ticket-customer{n}@example.com")
    customer_name = factory.Faker("name")

    if TYPE_CHECKING:
        # Calling a factory returns the row it made, not the factory:
        # factory_boy does not say so to the type checker.
        def __new__(cls, *args: Any, **kwargs: Any) -> Ticket: ...  # type: ignore[misc]

    @classmethod
    def _create(cls, model_class: type[Ticket], *args: Any, **kwargs: Any) -> Ticket:
        return ticket_create(**kwargs).ticket


STEP_CONTENT = {
    "acknowledge": {"message": "We have your message and are on it."},
    "apologize": {"message": "We are sorry; this should not have happened."},
    "resolve": {"message": "It is done."},
}


def advance(ticket: Ticket, to: str, *, actor: User | None = None) -> Ticket:
    """Walk a ticket through the recovery steps to status ``to``, via the services."""
    actor = actor or ticket.assignee
    assert actor is not None
    path = {
        Kind.QUESTION: ["acknowledge", "resolve", "close"],
        Kind.MISHAP: ["acknowledge", "apologize", "commit", "resolve", "restore"],
    }[Kind(ticket.kind)]
    for step in path:
        if ticket.status == to:
            break
        if step == "acknowledge":
            ticket = (
                ticket_acknowledge(
                    ticket=ticket,
                    actor=actor,
                    our_part="We sent the wrong item.",
                    **STEP_CONTENT["acknowledge"],
                )
                if ticket.kind == Kind.MISHAP
                else ticket_acknowledge(ticket=ticket, actor=actor, **STEP_CONTENT["acknowledge"])
            )
        elif step == "apologize":
            ticket = ticket_apologize(ticket=ticket, actor=actor, **STEP_CONTENT["apologize"])
        elif step == "commit":
            ticket = ticket_commit(
                ticket=ticket,
                actor=actor,
                promise="A replacement ships today.",
                due_at=timezone.now() + timedelta(days=2),
            )
        elif step == "resolve":
            ticket = ticket_resolve(ticket=ticket, actor=actor, **STEP_CONTENT["resolve"])
        elif step == "close":
            ticket = ticket_close(ticket=ticket, actor=actor)
        elif step == "restore":
            ticket = ticket_restore(ticket=ticket, actor=actor, reason="The plan is complete.")
    assert ticket.status == to, f"could not reach {to}, stopped at {ticket.status}"
    return ticket


def give_authority(user: User, *, kinds: list[str], by: User | None = None) -> None:
    """A policy that lets ``user`` grant ``kinds`` up to 100.00 USD an incident
    (1,000 a week, 1,000 a customer), set by ``by`` (a new supervisor by default)."""
    from recovery.services.authority import authority_policy_set

    authority_policy_set(
        user=user,
        actor=by or StaffFactory(role=Role.SUPERVISOR),
        values={
            "per_incident_limit": "100.00",
            "per_period_limit": "1000.00",
            "period": "week",
            "per_customer_limit": "1000.00",
            "allowed_kinds": kinds,
            "currency": "USD",
        },
    )
