from django.apps import AppConfig


class TicketsConfig(AppConfig):
    name = "tickets"
    verbose_name = "Tickets"

    def ready(self) -> None:
        from outbox.sources import register
        from tickets.services.alerts import ALERTS
        from tickets.services.delivery import MESSAGES
        from tickets.services.notifications import NOTIFICATIONS

        register(MESSAGES)
        register(ALERTS)
        register(NOTIFICATIONS)
