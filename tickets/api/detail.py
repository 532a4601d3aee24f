"""What the ticket endpoints answer with: a ticket's detail, rendered for
the caller, with what its query must read for it."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db.models import QuerySet
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api import staff
from accounts.models import User
from core import clock
from core.compiled import CompiledQuery
from core.errors import DomainError
from tickets.api import serializers as s
from tickets.models import Ticket
from tickets.selectors import (
    LARGEST_ID,
    sees_every_ticket,
    ticket_detail,
    viewer,
    with_details,
)
from tickets.services.access import ensure_can_act


def _tickets_own(tickets: QuerySet[Ticket], *, now: datetime | None = None) -> QuerySet[Ticket]:
    return tickets


@dataclass(frozen=True)
class TicketDetail:
    """What the ticket endpoints answer with: a ticket's detail serializer and
    what the ticket's query reads for it beyond ``with_details`` (a prefetch,
    annotations), so the detail stays at a fixed number of queries.

    Tickets' own by default; the project serves the endpoints with recovery's
    (``recovery.api.ticket_detail``, wired in ``helpdesk.api.urls``), whose
    serializer declares its members, so the schema describes them."""

    serializer: type[s.TicketDetailSerializer] = s.TicketDetailSerializer
    # ``reads(tickets, now=...)``: what it adds is as of ``now`` (the clock's
    # when None); ``look_back``, how far before ``now`` its SQL looks.
    reads: Callable[..., QuerySet[Ticket]] = field(default=_tickets_own)
    look_back: Sequence[timedelta] = ()
    _compiled: CompiledQuery = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # One ticket by id is what integrations ask for most: its query is
        # built and compiled once a process for each kind of caller.
        compiled = CompiledQuery(build=self._one, before={"now": tuple(self.look_back)})
        object.__setattr__(self, "_compiled", compiled)

    def visible_to(self, user: User) -> QuerySet[Ticket]:
        return self.reads(ticket_detail(user=user))

    def one_visible_to(self, user: User, ticket_id: int) -> Ticket | None:
        """The ticket of id ``ticket_id`` with its details, if ``user`` sees it."""
        if not 0 < ticket_id <= LARGEST_ID:
            return None
        rows = self._compiled.rows(
            sees_every_ticket(user), user_id=user.pk, ticket_id=ticket_id, now=clock.now()
        )
        return rows[0] if rows else None

    def _one(self, sees_all: bool, *, user_id: int, ticket_id: int, now: datetime) -> Any:
        caller = viewer(user_id, sees_all=sees_all)
        return self.reads(ticket_detail(user=caller), now=now).filter(pk=ticket_id)

    def written(self, ticket_id: int) -> Ticket:
        """A ticket just changed by its caller, with its details. Not limited to
        what the caller sees: one who hands a ticket to a colleague outside
        their queues still gets the result of their own change."""
        return self.reads(with_details(Ticket.objects.filter(pk=ticket_id))).get()

    def render(self, request: Request, ticket: Ticket, code: int = status.HTTP_200_OK) -> Response:
        """The detail of a ticket as the caller sees it: transitions only where they may act."""
        context = {"request": request, "can_act": _can_act(staff(request), ticket)}
        return Response(self.serializer(ticket, context=context).data, status=code)


def _can_act(user: User, ticket: Ticket) -> bool:
    try:
        ensure_can_act(user, ticket)
    except DomainError:
        return False
    return True
