"""Demo data for a first look at the desk: staff, customers, 90 days of
history for the trust dashboard, and a current ticket in every state. Safe to
run again: it updates what exists and adds what is missing, never duplicates."""

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.models import User
from accounts.roles import Role
from accounts.services import customer_upsert, staff_upsert
from demo.history import HISTORY_CUSTOMERS, HISTORY_DAYS, seed_demo_history
from demo.tickets import seed_demo_queues, seed_demo_tickets
from tickets.case_links import case_url
from tickets.models import Status, Ticket

DEMO_PASSWORD = "recover-demo-2026"

STAFF = (
    ("ada", Role.ADMIN, "ada@demo.example", "Ada", "Admin"),
    ("sam", Role.SUPERVISOR, "sam@demo.example", "Sam", "Supervisor"),
    ("alex", Role.AGENT, "alex@demo.example", "Alex", "Agent"),
    ("jordan", Role.AGENT, "jordan@demo.example", "Jordan", "Agent"),
)

# Spread over time zones so follow-ups visibly land in each one's morning.
CUSTOMERS = (
    ("Maria Silva", "maria.silva@example.com", "America/Sao_Paulo", "pt-BR"),
    ("James O'Connor", "james.oconnor@example.com", "Europe/Dublin", "en"),
    ("Aiko Tanaka", "aiko.tanaka@example.com", "Asia/Tokyo", "ja"),
    ("Priya Raman", "priya.raman@example.com", "Asia/Kolkata", "en"),
    ("Lena Fischer", "lena.fischer@example.com", "Europe/Berlin", "de"),
    ("Tom Becker", "tom.becker@example.com", "America/Los_Angeles", "en"),
)


class Command(BaseCommand):
    help = (
        "Create or refresh the demo staff, customers, history and tickets, and print the "
        "demo logins."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.HELPDESK_ALLOW_DEMO_DATA:
            raise CommandError(
                "Demo data is disabled here (HELPDESK_ALLOW_DEMO_DATA is off): "
                "its logins have published passwords."
            )
        with transaction.atomic():
            for username, role, email, first, last in STAFF:
                staff_upsert(
                    username=username,
                    role=role,
                    email=email,
                    password=DEMO_PASSWORD,
                    first_name=first,
                    last_name=last,
                )
            created = sum(
                customer_upsert(email=email, name=name, time_zone=zone, locale=locale)[1]
                for name, email, zone, locale in (*CUSTOMERS, *HISTORY_CUSTOMERS)
            )
            agents = list(User.objects.filter(username__in=["alex", "jordan"]).order_by("username"))
            seed_demo_queues(agents=agents)
        # Before the current tickets: the history is added only to a desk
        # with no tickets, and the current ones then follow it in time.
        history = seed_demo_history(
            agents=agents,
            supervisor=User.objects.get(username="sam"),
            named_customers=[(name, email) for name, email, *_ in CUSTOMERS],
        )
        with transaction.atomic():
            new_tickets = seed_demo_tickets(agents=agents)

        customers = len(CUSTOMERS) + len(HISTORY_CUSTOMERS)
        self.stdout.write(
            f"Demo data ready: {len(STAFF)} staff, {customers} customers ({created} new), "
            f"{new_tickets} new tickets in every state and {history} new tickets of history "
            f"over the last {HISTORY_DAYS} days."
        )
        self.stdout.write(f"Logins (password for all: {DEMO_PASSWORD}):")
        for username, role, *_ in STAFF:
            self.stdout.write(f"  {username:<8} {role.label}")
        shown = _a_case_to_show()
        if shown is not None:
            self.stdout.write(
                f"A customer's own case page, as {shown.customer.name} sees it: {case_url(shown)}"
            )


def _a_case_to_show() -> Ticket | None:
    """The first demo customer's latest case, rebuilding trust if one is:
    the case page then has a promise, a grant and the follow-ups to show."""
    mine = Ticket.objects.filter(customer__email=CUSTOMERS[0][1]).select_related("customer")
    latest = ("-created_at", "-id")
    return (
        mine.filter(status=Status.REBUILDING).order_by(*latest).first()
        or mine.order_by(*latest).first()
    )
