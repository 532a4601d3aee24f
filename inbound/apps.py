from django.apps import AppConfig


class InboundConfig(AppConfig):
    """Email from customers: every message kept raw, then threaded into a
    ticket, ignored as noise, or quarantined. Depends on accounts and tickets."""

    name = "inbound"
    verbose_name = "Inbound email"
