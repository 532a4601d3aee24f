from django.apps import AppConfig


class DemoConfig(AppConfig):
    """Demo data for a newcomer's desk. Depends on every other app; none depends on it."""

    name = "demo"
    verbose_name = "Demo data"
