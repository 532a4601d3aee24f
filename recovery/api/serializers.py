from __future__ import annotations

from rest_framework import serializers

from core.serializers import (
    CurrencyField,
    DecimalStringField,
    RejectUnknownFieldsMixin,
    StrictCharField,
    StrictChoiceField,
)
from recovery.models import ApprovalRequest, FollowUp, Period, Restitution, RestitutionKind


def amount() -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=12, decimal_places=2, coerce_to_string=True)


# --- Output -------------------------------------------------------------------------


class RestitutionSerializer(serializers.ModelSerializer):
    approval = serializers.SerializerMethodField()
    ticket = serializers.IntegerField(source="ticket_id", read_only=True)
    agent = serializers.IntegerField(source="agent_id", read_only=True)
    charged_to = serializers.IntegerField(source="charged_to_id", read_only=True, allow_null=True)

    class Meta:
        model = Restitution
        fields: tuple[str, ...] = (
            "id",
            "ticket",
            "agent",
            "kind",
            "amount",
            "currency",
            "reason",
            "customer_loss",
            "status",
            "approval",
            "charged_to",
            "created_at",
            "voided_at",
            "void_reason",
        )
        read_only_fields: tuple[str, ...] = fields

    def get_approval(self, restitution: Restitution) -> int | None:
        """The approval request's id, while one exists."""
        approval = getattr(restitution, "approval", None)
        return approval.pk if approval is not None else None


class GuidanceSerializer(serializers.Serializer):
    suggested_min = amount()
    suggested_max = amount()
    warning = serializers.CharField()


class GrantResultSerializer(RestitutionSerializer):
    guidance = GuidanceSerializer(required=False, allow_null=True, read_only=True)
    repeat_failure_guidance = serializers.CharField(
        required=False,
        allow_null=True,
        read_only=True,
        help_text="On a repeat failure: money alone does not recover it; fix the cause.",
    )

    class Meta(RestitutionSerializer.Meta):
        fields = (*RestitutionSerializer.Meta.fields, "guidance", "repeat_failure_guidance")
        read_only_fields = fields


class ApprovalSerializer(serializers.ModelSerializer):
    restitution = RestitutionSerializer(read_only=True)
    requested_by = serializers.IntegerField(source="requested_by_id", read_only=True)
    decided_by = serializers.IntegerField(source="decided_by_id", read_only=True, allow_null=True)

    class Meta:
        model = ApprovalRequest
        fields = (
            "id",
            "status",
            "restitution",
            "requested_by",
            "limits_exceeded",
            "created_at",
            "decided_by",
            "decided_at",
            "reason",
        )
        read_only_fields = fields


class AuthoritySerializer(serializers.Serializer):
    user = serializers.IntegerField()
    currency = serializers.CharField()
    per_incident_limit = amount()
    period = serializers.ChoiceField(choices=Period.choices)
    period_start = serializers.DateField()
    per_period_limit = amount()
    period_spent = amount()
    period_remaining = amount()
    per_customer_limit = amount()
    allowed_kinds = serializers.ListField(child=serializers.ChoiceField(RestitutionKind.choices))
    is_default = serializers.BooleanField(help_text="True when the role's defaults apply.")


class PolicySerializer(serializers.Serializer):
    user = serializers.IntegerField()
    per_incident_limit = amount()
    per_period_limit = amount()
    period = serializers.ChoiceField(choices=Period.choices)
    per_customer_limit = amount()
    allowed_kinds = serializers.ListField(child=serializers.ChoiceField(RestitutionKind.choices))
    currency = serializers.CharField()
    is_default = serializers.BooleanField()
    history = serializers.ListField(child=serializers.DictField(), read_only=True)


# --- Input ---------------------------------------------------------------------------


class GrantSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    kind = StrictChoiceField(choices=RestitutionKind.choices)
    amount = DecimalStringField()
    currency = CurrencyField()
    reason = StrictCharField(max_length=2000)
    customer_loss = DecimalStringField(required=False, allow_null=True)


class PolicyInputSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    per_incident_limit = DecimalStringField()
    per_period_limit = DecimalStringField()
    period = StrictChoiceField(choices=Period.choices)
    per_customer_limit = DecimalStringField()
    allowed_kinds = serializers.ListField(
        child=StrictChoiceField(choices=RestitutionKind.choices), allow_empty=True
    )
    currency = CurrencyField()


class FollowUpSerializer(serializers.ModelSerializer):
    rating = serializers.SerializerMethodField()

    class Meta:
        model = FollowUp
        fields = (
            "id",
            "step_number",
            "offset_days",
            "due_at",
            "status",
            "attempts",
            "last_error",
            "sent_at",
            "cancelled_at",
            "cancel_reason",
            "rating",
        )
        read_only_fields = fields

    def get_rating(self, followup: FollowUp) -> int | None:
        """The customer's rating from this follow-up's link, if any."""
        feedback = getattr(followup, "feedback", None)
        return feedback.rating if feedback is not None else None


class SpendRowSerializer(serializers.Serializer):
    user = serializers.IntegerField()
    username = serializers.CharField()
    kind = serializers.CharField()
    currency = serializers.CharField()
    total = serializers.CharField(help_text="A decimal string.")


class WordOfMouthSerializer(serializers.Serializer):
    happy_tell = serializers.IntegerField(help_text="Happy customers who never had a mishap, x3.")
    resolved_tell = serializers.IntegerField(help_text="Recovered customers rating 3+, x5.")
    unhappy_tell = serializers.IntegerField(help_text="Customers rating 1-2, x12.")


class CompensationBandSerializer(serializers.Serializer):
    band = serializers.ChoiceField(choices=["none", "under_60", "60_120", "120_150", "over_150"])
    # The metaclass moves declared fields out of the class body, so this does
    # not shadow Field.label at run time; only the type checker sees it.
    label = serializers.CharField()  # type: ignore[assignment]
    count = serializers.IntegerField(help_text="Ratings on mishaps in this band.")
    mean_rating = serializers.FloatField(allow_null=True, help_text="1 to 5; null with none.")


class CompensationLossNotStatedSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    mean_rating = serializers.FloatField(allow_null=True)


class TrustMetricsSerializer(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField()
    median_minutes_to_acknowledge = serializers.FloatField(allow_null=True)
    mishaps = serializers.IntegerField()
    apology_rate = serializers.FloatField(allow_null=True)
    promises_due = serializers.IntegerField()
    promises_kept_rate = serializers.FloatField(allow_null=True)
    restitution_spend = SpendRowSerializer(many=True)
    median_hours_to_approval = serializers.FloatField(allow_null=True)
    followups_sent = serializers.IntegerField()
    followups_failed = serializers.IntegerField()
    followup_delivery_rate = serializers.FloatField(allow_null=True)
    followup_response_rate = serializers.FloatField(allow_null=True)
    recovered_average_rating = serializers.FloatField(allow_null=True)
    never_failed_average_rating = serializers.FloatField(allow_null=True)
    recovery_paradox_index = serializers.FloatField(
        allow_null=True, help_text="Recovered customers' average rating over never-failed ones'."
    )
    repeat_failures = serializers.IntegerField()
    word_of_mouth = WordOfMouthSerializer()
    compensation_effectiveness = CompensationBandSerializer(
        many=True,
        help_text=(
            "Ratings on mishaps by restitution in force as a share of the customer's "
            "loss: always the 5 bands, in order."
        ),
    )
    compensation_loss_not_stated = CompensationLossNotStatedSerializer(
        help_text="Ratings on mishaps with restitution in force but no loss stated."
    )


class TrustFiguresSerializer(serializers.Serializer):
    """Each number the level is decided from (recovery/trust/figures.py);
    counts and rates over the last 365 days unless the name says otherwise."""

    tickets = serializers.IntegerField(help_text="Tickets in all, ever.")
    mishaps = serializers.IntegerField(help_text="Mishaps in all, ever.")
    mishaps_90_days = serializers.IntegerField()
    mishaps_365_days = serializers.IntegerField()
    first_mishap_90_days_at = serializers.DateTimeField(allow_null=True)
    repeat_failures_365_days = serializers.IntegerField()
    open_mishaps = serializers.IntegerField(help_text="Mishaps being put right now.")
    rebuilding_mishaps = serializers.IntegerField(help_text="Mishaps in their rebuilding period.")
    rebuilding_since = serializers.DateTimeField(allow_null=True)
    median_minutes_to_acknowledge = serializers.FloatField(allow_null=True)
    median_minutes_to_apologize = serializers.FloatField(allow_null=True)
    promises_made = serializers.IntegerField()
    promises_kept = serializers.IntegerField()
    promises_late = serializers.IntegerField(help_text="Kept late, or not kept and past due.")
    last_promise_due_at = serializers.DateTimeField(allow_null=True)
    last_promise_kept_at = serializers.DateTimeField(allow_null=True)
    last_promise_late_hours = serializers.FloatField(allow_null=True)
    restitution_paid = serializers.FloatField(
        allow_null=True, help_text="In force, on mishaps where the customer stated a loss."
    )
    restitution_loss = serializers.FloatField(allow_null=True)
    restitution_share_of_loss = serializers.FloatField(allow_null=True)
    ratings = serializers.IntegerField()
    average_rating = serializers.FloatField(allow_null=True)
    last_rating = serializers.IntegerField(allow_null=True)
    last_rated_at = serializers.DateTimeField(allow_null=True)
    unsubscribed_at = serializers.DateTimeField(allow_null=True)


class TrustProfileSerializer(serializers.Serializer):
    level = serializers.ChoiceField(choices=["fragile", "recovering", "steady", "new"])
    reasons = serializers.ListField(
        child=serializers.CharField(), help_text="Plain sentences: why this level."
    )
    figures = TrustFiguresSerializer()
    as_of = serializers.DateTimeField()
