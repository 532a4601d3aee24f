from django.apps import AppConfig


class RecoveryConfig(AppConfig):
    name = "recovery"
    verbose_name = "Recovery"

    def ready(self) -> None:
        from outbox.sources import register
        from recovery import hooks as recovery_hooks
        from recovery.services.followup_delivery import FOLLOWUPS
        from recovery.services.followups import followups_cancel_for_ticket, followups_schedule
        from recovery.services.webhooks import WEBHOOKS
        from tickets import hooks

        register(FOLLOWUPS)
        register(WEBHOOKS)
        hooks.register_resolve_guard(recovery_hooks.pending_approvals_block_resolution)
        hooks.register_lifecycle_hook("resolved", followups_schedule)
        hooks.register_lifecycle_hook("reopened", followups_cancel_for_ticket)
        hooks.register_lifecycle_hook("restored", followups_cancel_for_ticket)
        hooks.register_detail_section(
            "restitutions",
            prefetch=recovery_hooks.RESTITUTIONS_PREFETCH,
            render=recovery_hooks.restitutions_section,
            schema=recovery_hooks.restitutions_section_schema,
        )
