from django.apps import AppConfig


class RecoveryConfig(AppConfig):
    name = "recovery"
    verbose_name = "Recovery"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from accounts.backends import read_with_staff
        from outbox.sources import register
        from recovery import hooks as recovery_hooks
        from recovery.services.followup_delivery import FOLLOWUPS
        from recovery.services.followups import followups_cancel_for_ticket, followups_schedule
        from recovery.services.webhooks import WEBHOOKS
        from recovery.trust.sql import add_sqlite_median
        from tickets import hooks

        connection_created.connect(add_sqlite_median, dispatch_uid="helpdesk_median")
        # A grant, the ticket page's grant form and the authority page read
        # the caller's policy: with the caller, not in a query of its own.
        read_with_staff("authority_policy")
        register(FOLLOWUPS)
        register(WEBHOOKS)
        hooks.register_resolve_guard(recovery_hooks.pending_approvals_block_resolution)
        hooks.register_lifecycle_hook("resolved", followups_schedule)
        hooks.register_lifecycle_hook("reopened", followups_cancel_for_ticket)
        hooks.register_lifecycle_hook("restored", followups_cancel_for_ticket)
        hooks.register_lifecycle_hook("mishap_opened", recovery_hooks.alert_if_trust_at_risk)
