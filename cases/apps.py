from django.apps import AppConfig


class CasesConfig(AppConfig):
    """The customer's side of the desk: the case page behind the signed link
    in every customer email, and the contact form for people with no ticket."""

    name = "cases"
    verbose_name = "Customers' case pages"

    def ready(self) -> None:
        from cases.delivery import CASE_EMAILS
        from outbox.sources import register

        register(CASE_EMAILS)
