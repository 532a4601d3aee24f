from django.apps import AppConfig


class OutboxConfig(AppConfig):
    """Every outgoing email and webhook, delivered at least once. At the
    bottom of the layers: tickets and recovery register their sources here
    (``outbox.sources``); the outbox imports none of them."""

    name = "outbox"
    default_auto_field = "django.db.models.BigAutoField"
