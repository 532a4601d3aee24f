"""Every change in the recovery app goes through one of these functions."""

from recovery.services.authority import authority_policy_set, authority_remaining, policy_for
from recovery.services.followups_plans import PlanStep, followup_plan_set
from recovery.services.idempotency import idempotency_keys_purge, run_idempotent
from recovery.services.process_fixes import process_fix_create, process_fix_set_status
from recovery.services.restitutions import approval_decide, restitution_grant, restitution_void
from recovery.services.webhooks import webhook_emit

__all__ = [
    "PlanStep",
    "approval_decide",
    "authority_policy_set",
    "authority_remaining",
    "followup_plan_set",
    "idempotency_keys_purge",
    "policy_for",
    "process_fix_create",
    "process_fix_set_status",
    "restitution_grant",
    "restitution_void",
    "run_idempotent",
    "webhook_emit",
]
