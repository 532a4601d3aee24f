from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from accounts.roles import sync_role_permissions

        # After each app's permissions exist, give the roles theirs. Runs again
        # after a test flush, which empties the groups table.
        post_migrate.connect(sync_role_permissions, dispatch_uid="accounts.sync_role_permissions")
