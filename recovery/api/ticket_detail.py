"""The ticket's detail as the API serves it: tickets' own, with recovery's
part declared beside it (the ticket's restitutions, the customer's trust), so
the schema describes every member. ``helpdesk.api.urls`` serves the ticket
endpoints with ``TICKET_DETAIL``; tickets never imports recovery."""

from typing import Any

from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from recovery.api.serializers import RestitutionSerializer, TrustProfileSerializer
from recovery.selectors import with_recovery
from recovery.trust import LOOK_BACK, profile_of
from tickets.api import serializers as tickets_api
from tickets.api.detail import TicketDetail
from tickets.models import Ticket


@extend_schema_serializer(component_name="TicketDetail")
class TicketRecoveryDetailSerializer(tickets_api.TicketDetailSerializer):
    restitutions = RestitutionSerializer(many=True, read_only=True)
    customer_trust = serializers.SerializerMethodField()

    class Meta(tickets_api.TicketDetailSerializer.Meta):
        fields = (*tickets_api.TicketDetailSerializer.Meta.fields, "restitutions", "customer_trust")
        read_only_fields = fields

    @extend_schema_field(TrustProfileSerializer)
    def get_customer_trust(self, ticket: Ticket) -> dict[str, Any]:
        """The customer's trust profile, from the ticket query's annotations."""
        return profile_of(ticket).as_dict()


TICKET_DETAIL = TicketDetail(
    serializer=TicketRecoveryDetailSerializer, reads=with_recovery, look_back=LOOK_BACK
)
