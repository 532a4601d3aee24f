"""Ticket endpoints: thin views that validate, call one service, render."""

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from django.urls import URLPattern, URLResolver, path
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from accounts.api import staff
from core.errors import RuleViolation
from core.schema import (
    CONFLICT,
    UNPROCESSABLE,
    RuleProblemSerializer,
    TransitionProblemSerializer,
)
from core.serializers import OptionalReasonSerializer, ReasonSerializer
from tickets import services
from tickets.api import serializers as s
from tickets.api.detail import TicketDetail
from tickets.api.pagination import SEARCH_COUNT_LIMIT, TicketPagination
from tickets.models import Kind, Severity, Status, Ticket
from tickets.selectors import (
    ORDERINGS,
    RELEVANCE,
    TicketFilters,
    ticket_list,
    ticket_messages,
    tickets_visible_to,
)


class IsStaffForTickets(BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if request.method == "POST" and getattr(view, "action", None) == "create":
            return bool(user.has_perm("tickets.add_ticket"))
        return bool(user.has_perm("tickets.view_ticket"))


_ID = re.compile(r"^[0-9]{1,18}$")


def _filters(params: Any) -> TicketFilters:
    errors: dict[str, str] = {}

    def choice(name: str, values: list[str]) -> str | None:
        value = params.get(name)
        if value is not None and value not in values:
            errors[name] = f"Unknown {name} {value!r}; use one of {', '.join(values)}."
        return value

    def integer(name: str, *, or_none: bool = False) -> int | None:
        value = params.get(name)
        if value is None or (or_none and value == "none"):
            return None
        # The schema's pattern, not int(), which also takes " 1", "+1" and "1_0".
        if not _ID.fullmatch(value):
            errors[name] = f"{name} must be an id (a whole number){' or none' if or_none else ''}."
            return None
        return int(value)

    filters = TicketFilters(
        status=choice("status", Status.values),
        kind=choice("kind", Kind.values),
        severity=choice("severity", Severity.values),
        queue=params.get("queue"),
        assignee=integer("assignee", or_none=True),
        unassigned=params.get("assignee") == "none",
        customer=integer("customer"),
        search=(params.get("search") or "").strip() or None,
        ordering=choice("ordering", [*ORDERINGS, RELEVANCE]) or "-created",
    )
    if errors:
        raise ValidationError(errors)
    if filters.ordering == RELEVANCE:
        _relevance_applies(filters, params)
    return filters


def _relevance_applies(filters: TicketFilters, params: Any) -> None:
    """Relevance orders search results, in numbered pages. Well-formed
    parameters that do not go together: 422, as the schema cannot say so."""
    if filters.search is None:
        raise RuleViolation(
            "relevance orders search results: give a search too, or order by created or updated.",
            field="ordering",
        )
    if params.get("pagination") == "cursor" or "cursor" in params:
        raise RuleViolation(
            "Search results by relevance come in numbered pages: leave out "
            "pagination=cursor, or order by date (-created) to page by cursor.",
            field="ordering",
        )


LIST_PARAMETERS = [
    OpenApiParameter("status", enum=Status.values),
    OpenApiParameter("kind", enum=Kind.values),
    OpenApiParameter("severity", enum=Severity.values),
    OpenApiParameter("queue", description="Queue slug."),
    OpenApiParameter(
        "assignee",
        description="A staff user id, or `none` for unassigned.",
        pattern="^([0-9]{1,18}|none)$",
    ),
    OpenApiParameter("customer", description="Customer id.", pattern=_ID.pattern),
    OpenApiParameter("search", description="In subjects, messages and references (HD-000123)."),
    OpenApiParameter(
        "ordering",
        enum=[*ORDERINGS, RELEVANCE],
        description="Default `-created` (newest first). `relevance`: the best matches "
        "first (subject words count more), with `search` and in numbered pages only "
        "(otherwise 422); "
        "it ranks every match, so a word found in most tickets is slower to order so "
        "than by date.",
    ),
    OpenApiParameter(
        "pagination",
        enum=["page", "cursor"],
        description="`cursor`: pages that cost the same however deep (follow `next`; "
        "no `count`). Default: numbered pages (`page`), whose `count` of a search "
        f"is an estimate past {SEARCH_COUNT_LIMIT:,} results (`count_is_estimate`).",
    ),
    OpenApiParameter("cursor", description="The `next` or `previous` link's cursor."),
]


class TicketViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    permission_classes = [IsAuthenticated, IsStaffForTickets]
    http_method_names = ["get", "post", "patch", "head", "options"]
    pagination_class = TicketPagination
    details: ClassVar[TicketDetail] = TicketDetail()

    def cursor_ordering(self) -> tuple[str, ...]:
        """The list's ordering, for cursor pages (never by relevance: refused)."""
        return ORDERINGS[_filters(self.request.query_params).ordering]

    def count_limit(self) -> int | None:
        """A search's count stops at a few thousand; the whole list's is exact
        (counted through the list's indexes)."""
        return SEARCH_COUNT_LIMIT if _filters(self.request.query_params).search else None

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return Ticket.objects.none()
        user = staff(self.request)
        if self.action == "list":
            return ticket_list(user=user, filters=_filters(self.request.query_params))
        if self.action == "retrieve":
            return self.details.visible_to(user)
        return tickets_visible_to(user).select_related("queue")

    def get_serializer_class(self) -> Any:
        return s.TicketListSerializer if self.action == "list" else self.details.serializer

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "can_act": True}

    @extend_schema(
        parameters=LIST_PARAMETERS,
        responses={200: s.TicketListSerializer(many=True), UNPROCESSABLE: RuleProblemSerializer},
        summary="List tickets",
    )
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(summary="One ticket, with what can be done next")
    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        pk = str(kwargs.get(self.lookup_field, ""))
        ticket = self.details.one_visible_to(staff(request), int(pk)) if _ID.match(pk) else None
        if ticket is None:
            raise NotFound("No ticket with that id that you can see.")
        self.check_object_permissions(request, ticket)
        return self.details.render(request, ticket)

    # The responses: ``ticket_urlpatterns``, with the detail it serves.
    @extend_schema(request=s.TicketCreateSerializer, summary="Open a ticket")
    def create(self, request: Request) -> Response:
        payload = s.TicketCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = dict(payload.validated_data)
        # "assignee": null asks for nobody; no assignee at all makes it the caller's.
        unassigned = "assignee" in data and data["assignee"] is None
        ticket, _ = services.ticket_create(actor=staff(request), unassigned=unassigned, **data)
        return self.details.render(
            request, self.details.written(ticket.pk), status.HTTP_201_CREATED
        )

    @extend_schema(
        request=s.TicketUpdateSerializer,
        summary="Change subject, severity, channel, queue or assignee",
    )
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        ticket = self.get_object()
        payload = s.TicketUpdateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        services.ticket_update(ticket=ticket, actor=staff(request), **payload.validated_data)
        return self.details.render(request, self.details.written(ticket.pk))


@dataclass(frozen=True)
class Step:
    name: str
    serializer: type[serializers.Serializer]
    service: Callable[..., Ticket]
    summary: str


STEPS = (
    Step(
        "acknowledge",
        s.AcknowledgeSerializer,
        services.ticket_acknowledge,
        "Acknowledge (for a mishap, with our part in it, kept internal)",
    ),
    Step("apologize", s.MessageBodySerializer, services.ticket_apologize, "Apologize (mishaps)"),
    Step(
        "commit",
        s.CommitSerializer,
        services.ticket_commit,
        "Commit to what we will do, and by when",
    ),
    Step(
        "resolve",
        s.MessageBodySerializer,
        services.ticket_resolve,
        "Resolve: answer, or keep the promise and start rebuilding",
    ),
    Step("close", OptionalReasonSerializer, services.ticket_close, "Close an answered question"),
    Step("restore", ReasonSerializer, services.ticket_restore, "End the rebuilding period"),
    Step("reopen", ReasonSerializer, services.ticket_reopen, "Reopen"),
)


class TicketActionView(GenericAPIView):
    """Base of the per-ticket POST endpoints: finds the ticket among those the
    caller may see (404 otherwise), validates the body, calls the service."""

    permission_classes = [IsAuthenticated, IsStaffForTickets]
    details: ClassVar[TicketDetail] = TicketDetail()

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return Ticket.objects.none()
        return tickets_visible_to(staff(self.request)).select_related("queue")

    def respond(self, ticket_id: int) -> Response:
        return self.details.render(self.request, self.details.written(ticket_id))


def transition_view(step: Step, detail: TicketDetail) -> Callable[..., Any]:
    class TransitionView(TicketActionView):
        serializer_class = step.serializer

        @extend_schema(
            request=step.serializer,
            responses={
                200: detail.serializer,
                CONFLICT: TransitionProblemSerializer,
                UNPROCESSABLE: RuleProblemSerializer,
            },
            summary=step.summary,
            operation_id=f"tickets_{step.name}",
        )
        def post(self, request: Request, pk: int) -> Response:
            ticket = self.get_object()
            payload = step.serializer(data=request.data)
            payload.is_valid(raise_exception=True)
            step.service(ticket=ticket, actor=staff(request), **payload.validated_data)
            return self.respond(ticket.pk)

    TransitionView.details = detail
    TransitionView.__name__ = f"{step.name.capitalize()}View"
    TransitionView.__qualname__ = TransitionView.__name__
    return TransitionView.as_view()


class MakeMishapView(TicketActionView):
    serializer_class = s.MakeMishapSerializer

    @extend_schema(request=s.MakeMishapSerializer, summary="Turn a question into a mishap")
    def post(self, request: Request, pk: int) -> Response:
        ticket = self.get_object()
        payload = s.MakeMishapSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        services.ticket_convert_to_mishap(
            ticket=ticket, actor=staff(request), **payload.validated_data
        )
        return self.respond(ticket.pk)


class TicketMessagesView(TicketActionView):
    serializer_class = s.MessageSerializer

    @extend_schema(responses=s.MessageSerializer(many=True), summary="The conversation")
    def get(self, request: Request, pk: int) -> Response:
        ticket = self.get_object()
        page = self.paginate_queryset(ticket_messages(ticket=ticket))
        return self.get_paginated_response(s.MessageSerializer(page, many=True).data)

    @extend_schema(
        request=s.MessageCreateSerializer,
        responses={201: s.MessageSerializer, UNPROCESSABLE: RuleProblemSerializer},
        summary="Reply to the customer, or add an internal note (`public: false`)",
    )
    def post(self, request: Request, pk: int) -> Response:
        ticket = self.get_object()
        payload = s.MessageCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        message = services.message_create(
            ticket=ticket, actor=staff(request), **payload.validated_data
        )
        return Response(s.MessageSerializer(message).data, status=status.HTTP_201_CREATED)


def ticket_urlpatterns(detail: TicketDetail) -> list[URLPattern | URLResolver]:
    """The ticket endpoints, each answering with ``detail``'s serializer and
    declaring it in the schema."""

    def answers(code: int) -> dict[Any, Any]:
        return {code: detail.serializer, UNPROCESSABLE: RuleProblemSerializer}

    @extend_schema_view(
        create=extend_schema(responses=answers(status.HTTP_201_CREATED)),
        partial_update=extend_schema(responses=answers(status.HTTP_200_OK)),
    )
    class Tickets(TicketViewSet):
        details = detail

    @extend_schema_view(post=extend_schema(responses=answers(status.HTTP_200_OK)))
    class MakeMishap(MakeMishapView):
        details = detail

    # Named as the views they extend: DRF names a view (OPTIONS) by its class.
    Tickets.__name__ = Tickets.__qualname__ = TicketViewSet.__name__
    MakeMishap.__name__ = MakeMishap.__qualname__ = MakeMishapView.__name__
    router = SimpleRouter()
    router.register("tickets", Tickets, basename="ticket")
    return [
        *router.urls,
        *(
            path(
                f"tickets/<int:pk>/{step.name}/",
                transition_view(step, detail),
                name=f"ticket-{step.name}",
            )
            for step in STEPS
        ),
        path("tickets/<int:pk>/make-mishap/", MakeMishap.as_view(), name="ticket-make-mishap"),
        path("tickets/<int:pk>/messages/", TicketMessagesView.as_view(), name="ticket-messages"),
    ]
