"""The three staff roles and what each may do.

Roles are Django groups; this module is the one place that says which
permissions each holds. Permissions are named as strings, so accounts imports
no other app; each app's entries are applied once that app has migrated.
"""

from typing import Any

from django.apps import AppConfig
from django.db import models


class Role(models.TextChoices):
    AGENT = "agent", "Agent"
    SUPERVISOR = "supervisor", "Supervisor"
    ADMIN = "admin", "Admin"


# Most to least powerful: a user in several groups has the first that matches.
ROLE_PRECEDENCE = (Role.ADMIN, Role.SUPERVISOR, Role.AGENT)

_AGENT = frozenset(
    {
        "accounts.view_customer",
        "accounts.add_customer",
        "accounts.change_customer",
        "tickets.view_ticket",
        "tickets.add_ticket",
        "tickets.change_ticket",
        "tickets.view_message",
        "tickets.add_message",
        "tickets.view_queue",
        "tickets.view_commitment",
        "tickets.view_ticketevent",
        "tickets.view_alert",
        "tickets.view_savedreply",
        "recovery.view_processfix",
        "recovery.add_processfix",
        "recovery.add_restitution",
        "recovery.view_restitution",
        "recovery.view_approvalrequest",
        "recovery.view_followup",
        "recovery.view_feedback",
    }
)
_SUPERVISOR = _AGENT | {
    "accounts.view_user",
    "accounts.view_staff_directory",
    "tickets.view_all_tickets",
    "tickets.view_severitytarget",
    "tickets.add_savedreply",
    "tickets.change_savedreply",
    "recovery.change_processfix",
    "recovery.decide_approvalrequest",
    "recovery.view_authoritypolicy",
    "recovery.change_authoritypolicy",
    "recovery.view_authoritypolicychange",
    "recovery.view_followupplan",
    "recovery.change_followupplan",
    "recovery.view_followupplanstep",
    "recovery.add_followupplanstep",
    "recovery.change_followupplanstep",
    "recovery.delete_followupplanstep",
    "recovery.view_followup",
    "recovery.view_feedback",
    "recovery.view_trust_dashboard",
}
# Django's admin (/admin/) is the admin role's alone: what only it edits there
# (queues, timeliness targets, webhooks, staff) is the admin's to change.
_ADMIN = _SUPERVISOR | {
    "tickets.add_queue",
    "tickets.change_queue",
    "accounts.view_staffchange",
    "recovery.view_spendentry",
    "recovery.view_followupplanchange",
    # Sign-in attempts (django-axes); deleting an attempt unlocks its account.
    "axes.view_accessattempt",
    "axes.delete_accessattempt",
    "axes.view_accessfailurelog",
    "axes.view_accesslog",
    "accounts.add_user",
    "accounts.change_user",
    "accounts.manage_staff",
    "auth.view_group",
    "authtoken.view_tokenproxy",
    "tickets.change_severitytarget",
    "recovery.view_webhookendpoint",
    "recovery.add_webhookendpoint",
    "recovery.change_webhookendpoint",
    "recovery.view_webhookdelivery",
    # Every outgoing email and webhook; changing one means sending it again.
    "outbox.view_outboxitem",
    "outbox.change_outboxitem",
    "inbound.ingest_email",
    "inbound.view_inboundemail",
    "inbound.change_inboundemail",
}

ROLE_PERMISSIONS: dict[Role, frozenset[str]] = {
    Role.AGENT: _AGENT,
    Role.SUPERVISOR: frozenset(_SUPERVISOR),
    Role.ADMIN: frozenset(_ADMIN),
}


class UnknownPermissionError(LookupError):
    pass


def sync_role_permissions(sender: AppConfig, **kwargs: Any) -> None:
    """Create the role groups and give each exactly the permissions of
    ``sender``'s app listed above: a right taken off a role here is taken
    from the group at the next migrate. A listed permission that does not
    exist is an error: a typo must not silently leave a role without a right."""
    from django.contrib.auth.models import Group, Permission

    using = kwargs.get("using", "default")
    app_label = sender.label
    for role, names in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.using(using).get_or_create(name=role.value)
        wanted = {name.split(".", 1)[1] for name in names if name.split(".", 1)[0] == app_label}
        stale = group.permissions.filter(content_type__app_label=app_label).exclude(
            codename__in=wanted
        )
        group.permissions.remove(*stale)
        if not wanted:
            continue
        found = list(
            Permission.objects.using(using).filter(
                content_type__app_label=app_label, codename__in=wanted
            )
        )
        missing = wanted - {p.codename for p in found}
        if missing:
            raise UnknownPermissionError(
                f"Role {role.value!r} lists unknown permissions: "
                + ", ".join(sorted(f"{app_label}.{c}" for c in missing))
            )
        group.permissions.add(*found)
