"""Every change in the recovery app goes through one of these functions."""

from recovery.services.authority import authority_policy_set
from recovery.services.followups_plans import PlanStep, followup_plan_set
from recovery.services.idempotency import idempotency_keys_purge, run_idempotent
from recovery.services.process_fixes import process_fix_create, process_fix_set_status
from recovery.services.restitution_approvals import approval_decide
from recovery.services.restitution_voids import restitution_void
from recovery.services.restitutions import restitution_grant
from recovery.services.webhooks import webhook_emit

__all__ = [
    "PlanStep",
    "approval_decide",
    "authority_policy_set",
    "followup_plan_set",
    "idempotency_keys_purge",
    "process_fix_create",
    "process_fix_set_status",
    "restitution_grant",
    "restitution_void",
    "run_idempotent",
    "webhook_emit",
]
