"""The caller's notifications: their inbox, read one, read all."""

from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from tickets.models import Notification
from tickets.selectors import notifications_of
from tickets.services.notifications import notification_mark_read, notifications_mark_all_read

_TRUE, _FALSE = {"true", "1", "yes"}, {"false", "0", "no"}


class NotificationSerializer(serializers.ModelSerializer):
    ticket_reference = serializers.CharField(source="ticket.reference", read_only=True)

    class Meta:
        model = Notification
        fields = ("id", "kind", "ticket", "ticket_reference", "text", "created_at", "read_at")
        read_only_fields = fields


class NotificationListView(ListAPIView):
    """The caller's notifications, newest first."""

    serializer_class = NotificationSerializer

    @extend_schema(
        parameters=[OpenApiParameter("unread", bool, description="true: only those not yet read.")],
        summary="List my notifications",
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> Any:
        raw = self.request.query_params.get("unread")
        unread = False
        if raw is not None:
            if raw.lower() not in _TRUE | _FALSE:
                raise ValidationError({"unread": [f"Give true or false; {raw!r} is neither."]})
            unread = raw.lower() in _TRUE
        return notifications_of(self.request.user, unread=unread)  # type: ignore[arg-type]


class NotificationReadView(APIView):
    """Mark one of the caller's notifications read (again is no change)."""

    @extend_schema(request=None, responses=NotificationSerializer, summary="Mark read")
    def post(self, request: Request, pk: int) -> Response:
        notification = get_object_or_404(notifications_of(request.user), pk=pk)  # type: ignore[arg-type]
        notification = notification_mark_read(notification=notification)
        return Response(NotificationSerializer(notification).data)


class NotificationReadAllView(APIView):
    """Mark every unread notification of the caller's read."""

    @extend_schema(
        request=None,
        responses=inline_serializer("ReadAll", {"marked_read": serializers.IntegerField()}),
        summary="Mark all read",
    )
    def post(self, request: Request) -> Response:
        return Response({"marked_read": notifications_mark_all_read(user=request.user)})  # type: ignore[arg-type]
