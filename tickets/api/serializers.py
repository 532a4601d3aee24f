from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.serializers import (
    AwareDateTimeField,
    ExistingPrimaryKeyField,
    ExistingSlugField,
    MailboxField,
    RejectUnknownFieldsMixin,
    StrictBooleanField,
    StrictCharField,
    StrictChoiceField,
)
from tickets import workflow
from tickets.models import (
    Attachment,
    Channel,
    Commitment,
    Kind,
    Message,
    Queue,
    Severity,
    Ticket,
    TicketEvent,
)
from tickets.services.messages import MAX_TEXT_CHARS

User = get_user_model()


# --- Output -------------------------------------------------------------------------


class PersonSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    name = serializers.SerializerMethodField()

    def get_name(self, user: Any) -> str:
        return str(user.get_full_name() or user.username)


class CustomerBriefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    email = serializers.EmailField()
    time_zone = serializers.CharField()


# Decided (issue 14): our part is the team's own account of the failure; the
# customer reads the acknowledgement's message, never this.
OUR_PART_HELP = (
    "Internal: what we did wrong, in plain words, for the team. Never sent to the customer."
)
TO_THE_CUSTOMER = "Emailed to the customer."


class TicketListSerializer(serializers.ModelSerializer):
    reference = serializers.CharField(read_only=True)
    customer = CustomerBriefSerializer(read_only=True)
    queue: serializers.SlugRelatedField[Queue] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True, allow_null=True
    )
    assignee = PersonSerializer(read_only=True, allow_null=True)

    class Meta:
        model = Ticket
        fields: tuple[str, ...] = (
            "id",
            "reference",
            "subject",
            "kind",
            "severity",
            "channel",
            "status",
            "customer",
            "queue",
            "assignee",
            "is_repeat_failure",
            "acknowledge_breached_at",
            "apologize_breached_at",
            "created_at",
            "updated_at",
        )
        read_only_fields = fields


class CommitmentSerializer(serializers.ModelSerializer):
    kept = serializers.BooleanField(read_only=True, allow_null=True)

    class Meta:
        model = Commitment
        fields = (
            "id",
            "promise",
            "due_at",
            "value_restated",
            "created_at",
            "fulfilled_at",
            "fulfilment_note",
            "kept",
        )
        read_only_fields = fields


class EventSerializer(serializers.ModelSerializer):
    actor = PersonSerializer(read_only=True, allow_null=True)

    class Meta:
        model = TicketEvent
        fields = ("id", "action", "from_status", "to_status", "actor", "payload", "created_at")
        read_only_fields = fields


# The ticket's own detail. The API serves it with recovery's part added
# (``recovery.api.ticket_detail``): a subclass that declares its members.
class TicketDetailSerializer(TicketListSerializer):
    available_transitions = serializers.SerializerMethodField()
    missing_steps = serializers.SerializerMethodField()
    commitments = CommitmentSerializer(many=True, read_only=True)
    history = EventSerializer(source="events", many=True, read_only=True)
    repeat_of = serializers.SerializerMethodField()

    class Meta(TicketListSerializer.Meta):
        fields = (
            *TicketListSerializer.Meta.fields,
            "available_transitions",
            "missing_steps",
            "our_part",
            "repeat_of",
            "clock_started_at",
            "acknowledged_at",
            "apologized_at",
            "committed_at",
            "resolved_at",
            "closed_at",
            "restored_at",
            "reopened_at",
            "commitments",
            "history",
        )
        read_only_fields = fields
        extra_kwargs = {"our_part": {"help_text": OUR_PART_HELP}}

    def get_available_transitions(self, ticket: Ticket) -> list[str]:
        """What the caller can do now (empty where they may not act on the ticket)."""
        if not self.context.get("can_act", True):
            return []
        return workflow.available_transitions(ticket)

    def get_missing_steps(self, ticket: Ticket) -> list[str]:
        """The steps still missing before the ticket can be resolved."""
        return workflow.steps_to_resolve(ticket)

    def get_repeat_of(self, ticket: Ticket) -> str | None:
        return ticket.repeat_of.reference if ticket.repeat_of else None


class AttachmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Attachment
        fields = ("id", "name", "content_type", "size")
        read_only_fields = fields


class MessageSerializer(serializers.ModelSerializer):
    author = PersonSerializer(read_only=True, allow_null=True)
    attachments = AttachmentSerializer(many=True, read_only=True)

    class Meta:
        model = Message
        fields = (
            "id",
            "public",
            "author_kind",
            "author",
            "body",
            "step",
            "created_at",
            "delivery_status",
            "delivery_error",
            "delivered_at",
            "attachments",
        )
        read_only_fields = fields


# --- Input ---------------------------------------------------------------------------


@extend_schema_field(OpenApiTypes.INT)
class StaffField(ExistingPrimaryKeyField):
    def get_queryset(self) -> Any:
        return User.objects.filter(is_staff=True, is_active=True)


class TicketCreateSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    subject = StrictCharField(max_length=300)
    body = StrictCharField()
    kind = StrictChoiceField(choices=Kind.choices, default=Kind.QUESTION)
    severity = StrictChoiceField(choices=Severity.choices, default=Severity.MINOR)
    channel = StrictChoiceField(choices=Channel.choices, default=Channel.EMAIL)
    customer_email = MailboxField()
    customer_name = StrictCharField(
        max_length=200,
        required=False,
        allow_blank=True,
        default="",
        help_text="Required for a new customer; a known one keeps their name.",
    )
    queue = ExistingSlugField(
        slug_field="slug", queryset=Queue.objects.all(), required=False, allow_null=True
    )
    assignee = StaffField(required=False, allow_null=True)


class TicketUpdateSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    unknown_field_hints = {
        "status": "The status changes only through the transition endpoints.",
        "kind": "Use POST /api/v1/tickets/{id}/make-mishap/ to turn a question into a mishap.",
    }

    subject = StrictCharField(max_length=300, required=False)
    severity = StrictChoiceField(choices=Severity.choices, required=False)
    channel = StrictChoiceField(choices=Channel.choices, required=False)
    queue = ExistingSlugField(
        slug_field="slug", queryset=Queue.objects.all(), required=False, allow_null=True
    )
    assignee = StaffField(required=False, allow_null=True)


class MakeMishapSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    our_part = StrictCharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=MAX_TEXT_CHARS,
        help_text=f"{OUR_PART_HELP} Required once the ticket is acknowledged.",
    )
    severity = StrictChoiceField(choices=Severity.choices, required=False)


class AcknowledgeSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    message = StrictCharField(help_text=TO_THE_CUSTOMER)
    our_part = StrictCharField(
        required=False,
        allow_blank=True,
        max_length=MAX_TEXT_CHARS,
        help_text=f"{OUR_PART_HELP} Required to acknowledge a mishap.",
    )


class MessageBodySerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    message = StrictCharField(help_text=TO_THE_CUSTOMER)


class CommitSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    promise = StrictCharField(help_text=f"What we will do. {TO_THE_CUSTOMER}")
    due_at = AwareDateTimeField(
        help_text="By when; the email states it in the customer's time zone."
    )
    value_restated = StrictCharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=MAX_TEXT_CHARS,
        help_text="What the customer counted on, said again: emailed before the promise.",
    )


class MessageCreateSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    body = StrictCharField()
    public = StrictBooleanField(default=True)
