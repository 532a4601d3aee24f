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
        from recovery.trust import ticket_trust_annotations
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
        hooks.register_detail_section(
            "restitutions",
            prefetch=recovery_hooks.RESTITUTIONS_PREFETCH,
            render=recovery_hooks.restitutions_section,
            schema=recovery_hooks.restitutions_section_schema,
        )
        hooks.register_detail_section(
            "customer_trust",
            annotations=ticket_trust_annotations,
            render=recovery_hooks.customer_trust_section,
            schema=recovery_hooks.customer_trust_section_schema,
        )
