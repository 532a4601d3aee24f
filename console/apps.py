from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    """The staff console: pages over the same services as the API. It
    depends on every domain app; none depends on it."""

    name = "console"
    verbose_name = "Console"

    def ready(self) -> None:
        from console import navigation

        navigation.register()
