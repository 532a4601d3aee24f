import io

import pytest
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command

from accounts.models import Customer, User
from accounts.roles import Role
from demo.management.commands.seed_demo import CUSTOMERS, DEMO_PASSWORD, STAFF
from demo.tickets import DEMO_TICKETS
from tickets.models import Status, Ticket


def seed() -> str:
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_seeds_every_role_and_customers_in_several_time_zones() -> None:
    output = seed()

    roles = {User.objects.get(username=username).role for username, *_ in STAFF}
    assert roles == set(Role)
    assert Customer.objects.count() == len(CUSTOMERS)
    assert len(set(Customer.objects.values_list("time_zone", flat=True))) == len(CUSTOMERS)
    assert authenticate(username="alex", password=DEMO_PASSWORD) is not None
    for username, role, *_ in STAFF:
        assert f"{username:<8} {role.label}" in output
    assert DEMO_PASSWORD in output


@pytest.mark.django_db
def test_running_twice_duplicates_nothing() -> None:
    seed()
    counts = (User.objects.count(), Customer.objects.count(), Ticket.objects.count())

    output = seed()

    assert (User.objects.count(), Customer.objects.count(), Ticket.objects.count()) == counts
    assert "(0 new), 0 new tickets" in output


@pytest.mark.django_db
def test_refuses_where_demo_data_is_disabled(settings: pytest.FixtureRequest) -> None:
    settings.HELPDESK_ALLOW_DEMO_DATA = False  # type: ignore[attr-defined]

    with pytest.raises(CommandError, match="Demo data is disabled"):
        seed()

    assert not User.objects.exists()


@pytest.mark.django_db
def test_seeds_tickets_in_every_state_with_their_history() -> None:
    seed()

    assert set(Ticket.objects.values_list("status", flat=True)) == set(Status.values)
    assert Ticket.objects.count() == len(DEMO_TICKETS)
    restored = Ticket.objects.get(status=Status.RESTORED)
    assert [e.action for e in restored.events.all()] == [
        "created",
        "acknowledge",
        "apologize",
        "commit",
        "resolve",
        "followups_scheduled",
        "restore",
        "followups_cancelled",
    ]
