from recovery.models.authority import (
    AuthorityPolicy,
    AuthorityPolicyChange,
    Limit,
    Period,
    RestitutionKind,
    SpendCounter,
)
from recovery.models.daily_figures import (
    DailyCompensation,
    DailyFigures,
    DailyFiguresState,
    DailySpend,
)
from recovery.models.followups import (
    Feedback,
    FollowUp,
    FollowUpOptOut,
    FollowUpPlan,
    FollowUpPlanChange,
    FollowUpPlanStep,
)
from recovery.models.idempotency import IdempotencyKey
from recovery.models.process_fix import ProcessFix
from recovery.models.restitution import ApprovalRequest, Restitution, SpendEntry
from recovery.models.webhooks import WebhookAttempt, WebhookDelivery, WebhookEndpoint

__all__ = [
    "ApprovalRequest",
    "AuthorityPolicy",
    "AuthorityPolicyChange",
    "DailyCompensation",
    "DailyFigures",
    "DailyFiguresState",
    "DailySpend",
    "Feedback",
    "FollowUp",
    "FollowUpOptOut",
    "FollowUpPlan",
    "FollowUpPlanChange",
    "FollowUpPlanStep",
    "IdempotencyKey",
    "Limit",
    "Period",
    "ProcessFix",
    "Restitution",
    "RestitutionKind",
    "SpendCounter",
    "SpendEntry",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
]
