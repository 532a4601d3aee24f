"""Saved replies, as an agent starts from them: of one step, filled for one
ticket (the customer's first name, the reference, the agent's name, the
promise's due time in the customer's zone)."""

import re
from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.generics import ListAPIView
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from tickets.models import ReplyStep, SavedReply, Ticket
from tickets.selectors import fill, promise_due, saved_replies_for, tickets_visible_to

_ID = re.compile(r"[0-9]{1,18}")


class SavedReplySerializer(serializers.ModelSerializer):
    text = serializers.SerializerMethodField(
        help_text="The body with its placeholders filled for ``ticket``; the body as "
        "written when no ticket is given."
    )

    class Meta:
        model = SavedReply
        fields = ("id", "title", "step", "queue", "body", "text", "use_count")
        read_only_fields = fields

    def get_text(self, reply: SavedReply) -> str:
        ticket = self.context.get("ticket")
        if ticket is None:
            return reply.body
        read: dict[str, str] = self.context["read"]  # what the page read once
        if "{promise_due}" in reply.body and "due" not in read:
            read["due"] = promise_due(ticket)
        return fill(reply, ticket=ticket, agent=self.context["request"].user, due=read.get("due"))


class CanReadSavedReplies(BasePermission):
    def has_permission(self, request: Request, view: APIView) -> bool:
        return bool(request.user and request.user.has_perm("tickets.view_savedreply"))


class SavedReplyListView(ListAPIView):
    """The saved replies offered to the caller: with ``ticket``, those of its
    queue and of every queue, filled for it; with ``step``, of that step."""

    serializer_class = SavedReplySerializer
    permission_classes = [IsAuthenticated, CanReadSavedReplies]

    @extend_schema(
        parameters=[
            OpenApiParameter("step", enum=ReplyStep.values, description="Only this step's."),
            OpenApiParameter("ticket", int, description="Filled for this ticket."),
        ],
        summary="List saved replies",
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def _ticket(self) -> Ticket | None:
        raw = self.request.query_params.get("ticket")
        if raw is None:
            return None
        if not _ID.fullmatch(raw):
            raise ValidationError(
                {"ticket": [f"Give a ticket's id, a whole number; {raw!r} is not."]}
            )
        ticket = (
            tickets_visible_to(self.request.user)  # type: ignore[arg-type]
            .select_related("customer")
            .filter(pk=int(raw))
            .first()
        )
        if ticket is None:
            raise NotFound("No ticket with that id that you can see.")
        return ticket

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "ticket": self._ticket(), "read": {}}

    def get_queryset(self) -> Any:
        step = self.request.query_params.get("step")
        if step is not None and step not in ReplyStep.values:
            raise ValidationError(
                {"step": [f"Give one of {', '.join(ReplyStep.values)}; {step!r} is not."]}
            )
        ticket = self._ticket()
        if ticket is not None:
            return saved_replies_for(ticket=ticket, step=step)
        replies = SavedReply.objects.filter(active=True)
        return replies.filter(step=step) if step else replies
