"""How recovery takes part in the ticket flow (registered in RecoveryConfig.ready)."""

from typing import Any

from django.db.models import Prefetch

from recovery.models import Restitution
from tickets.models import Ticket

SETTLE_APPROVALS = "settle_pending_approvals"


def pending_approvals_block_resolution(ticket: Ticket) -> list[str]:
    """A mishap is not resolved while a restitution awaits a supervisor.
    Reads through the ``restitutions`` prefetch when there is one."""
    pending = Restitution.Status.PENDING_APPROVAL
    if any(r.status == pending for r in ticket.restitutions.all()):
        return [SETTLE_APPROVALS]
    return []


RESTITUTIONS_PREFETCH = Prefetch(
    "restitutions",
    queryset=Restitution.objects.select_related("approval__decided_by").order_by(
        "created_at", "id"
    ),
)


def restitutions_section(ticket: Ticket) -> list[dict[str, Any]]:
    from recovery.api.serializers import RestitutionSerializer

    return list(RestitutionSerializer(ticket.restitutions.all(), many=True).data)


def restitutions_section_schema() -> Any:
    from recovery.api.serializers import RestitutionSerializer

    return RestitutionSerializer(many=True, read_only=True)
