"""The mail gateway's endpoint: a raw RFC 5322 message in the body."""

from typing import Any

from django.conf import settings
from django.template.defaultfilters import filesizeformat
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import PayloadTooLarge
from inbound.models import InboundEmail
from inbound.services import inbound_receive


class RawEmailParser(BaseParser):
    """The body as bytes, read up to the inbound limit (not Django's limit for
    form data): a message with attachments is larger than any form."""

    media_type = "message/rfc822"

    # The stubs expect a mapping; DRF itself hands back whatever parse returns.
    def parse(  # type: ignore[override]
        self, stream: Any, media_type: str | None = None, parser_context: Any = None
    ) -> bytes:
        limit = settings.HELPDESK_INBOUND_MAX_BYTES
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise PayloadTooLarge(
                f"The message is above the limit of {filesizeformat(limit)}.", limit_bytes=limit
            )
        return raw


class CanIngest(BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        return bool(request.user.has_perm("inbound.ingest_email"))


class ReceivedSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=InboundEmail.Status.choices)
    outcome = serializers.CharField(allow_blank=True)
    reason = serializers.CharField(allow_blank=True)
    ticket = serializers.IntegerField(allow_null=True)
    duplicate = serializers.BooleanField()


class InboundEmailView(APIView):
    permission_classes = [IsAuthenticated, CanIngest]
    # Per gateway account: REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["inbound"].
    throttle_scope = "inbound"
    parser_classes = [RawEmailParser]

    @extend_schema(
        request={"message/rfc822": {"type": "string", "format": "binary", "minLength": 1}},
        responses={201: ReceivedSerializer, 200: ReceivedSerializer},
        summary="Hand a raw email to the desk (mail gateway)",
        description=(
            "The body is the message exactly as received (`Content-Type: message/rfc822`). "
            "201: kept and handled (threaded, ignored as automatic, or quarantined: see "
            "`status`); 200: a duplicate of a message already received (same Message-ID); "
            "413: above `HELPDESK_INBOUND_MAX_BYTES`."
        ),
        examples=[
            OpenApiExample("An email", value="From: pat@example.com\r\n...", request_only=True)
        ],
    )
    def post(self, request: Request) -> Response:
        raw = request.data
        # Only no body at all is malformed (the schema's minLength); any bytes
        # are kept, and what cannot be read as an email goes to the quarantine.
        if not isinstance(raw, bytes) or not raw:
            raise ParseError("The body must be the raw email (Content-Type: message/rfc822).")
        received = inbound_receive(raw=raw, source="http")
        email = received.email
        body = {
            "id": email.pk,
            "status": email.status,
            "outcome": email.outcome,
            "reason": email.reason,
            "ticket": email.ticket_id,
            "duplicate": received.duplicate,
        }
        code = status.HTTP_200_OK if received.duplicate else status.HTTP_201_CREATED
        return Response(ReceivedSerializer(body).data, status=code)
