"""Process fixes in the console: the list, proposing one, moving one on."""

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import User
from accounts.roles import Role
from recovery.models import ProcessFix
from recovery.services import process_fix_create, process_fix_set_status
from tests.factories import StaffFactory, TicketFactory
from tests.helpers import console_client, count_queries
from tickets.models import TicketEvent

pytestmark = pytest.mark.django_db

FIXES = reverse("console:process_fixes")


def status_url(fix: ProcessFix) -> str:
    return reverse("console:process_fix_status", args=[fix.pk])


def a_fix(owner: User, title: str = "Check the address twice") -> ProcessFix:
    return process_fix_create(
        actor=owner, title=title, root_cause="A typo.", failsafe_change="A second check."
    )


def proposal(**changes: Any) -> dict[str, Any]:
    return {
        "title": "Pack fragile items in foam",
        "root_cause": "Glasses were shipped in paper.",
        "failsafe_change": "The packing station refuses a fragile item without foam.",
        "owner": "",
        "tickets": "",
        **changes,
    }


def test_anonymous_visitors_are_asked_to_sign_in() -> None:
    response = Client().get(FIXES)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("console:login"))


def test_an_agent_proposes_a_fix_linked_to_their_ticket(agent: User) -> None:
    ticket = TicketFactory(actor=agent)

    response = console_client(agent).post(FIXES, proposal(tickets=f"{ticket.reference}"))

    assert response.status_code == 302
    fix = ProcessFix.objects.get()
    assert fix.title == "Pack fragile items in foam"
    assert fix.owner == agent
    assert list(fix.tickets.all()) == [ticket]
    assert TicketEvent.objects.filter(ticket=ticket, action="process_fix_linked").exists()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"title": ""}, "This field is required"),
        ({"failsafe_change": "   "}, "This field is required"),
        ({"tickets": "nonsense"}, "is not a ticket reference"),
        ({"tickets": "HD-999999"}, "No ticket you can see: HD-999999"),
    ],
)
def test_a_bad_proposal_is_refused_and_nothing_is_saved(
    agent: User, changes: dict[str, str], message: str
) -> None:
    response = console_client(agent).post(FIXES, proposal(**changes))

    assert response.status_code == 400
    assert message in response.content.decode()
    assert not ProcessFix.objects.exists()


def test_an_agent_cannot_link_a_ticket_they_cannot_see(agent: User) -> None:
    hidden = TicketFactory(actor=StaffFactory(role=Role.AGENT))

    response = console_client(agent).post(FIXES, proposal(tickets=hidden.reference))

    assert response.status_code == 400
    assert not ProcessFix.objects.exists()


def test_the_list_filters_by_status(supervisor: User) -> None:
    proposed = a_fix(supervisor, "Proposed one")
    started = process_fix_set_status(
        fix=a_fix(supervisor, "Started one"), actor=supervisor, status="in_progress"
    )
    client = console_client(supervisor)

    everything = client.get(FIXES)
    in_progress = client.get(FIXES, {"status": "in_progress"})

    assert {row["fix"] for row in everything.context["fixes"]} == {proposed, started}
    assert [row["fix"] for row in in_progress.context["fixes"]] == [started]


def test_the_list_is_paginated(agent: User) -> None:
    for n in range(27):
        a_fix(agent, f"Fix {n}")
    client = console_client(agent)

    assert len(client.get(FIXES).context["fixes"]) == 25
    assert len(client.get(FIXES, {"p": 2}).context["fixes"]) == 2


def test_a_supervisor_moves_a_fix_on_with_the_buttons(supervisor: User, agent: User) -> None:
    fix = a_fix(agent)
    client = console_client(supervisor)

    buttons = client.get(FIXES).context["fixes"][0]["next"]
    started = client.post(status_url(fix), {"status": "in_progress"})
    done = client.post(status_url(fix), {"status": "done"}, follow=True)

    assert [b["status"] for b in buttons] == ["in_progress", "dropped"]
    assert started.status_code == 302
    fix.refresh_from_db()
    assert fix.status == "done"
    assert fix.done_at is not None
    assert "Check the address twice: done." in done.content.decode()


def test_a_move_the_rules_forbid_is_refused_with_a_message(supervisor: User) -> None:
    fix = a_fix(supervisor)

    response = console_client(supervisor).post(status_url(fix), {"status": "done"}, follow=True)

    assert "A proposed process fix cannot become done." in response.content.decode()
    fix.refresh_from_db()
    assert fix.status == "proposed"


def test_an_agent_cannot_move_a_colleagues_fix(agent: User) -> None:
    fix = a_fix(StaffFactory(role=Role.AGENT))
    client = console_client(agent)

    assert client.get(FIXES).context["fixes"][0]["next"] == []
    response = client.post(status_url(fix), {"status": "in_progress"}, follow=True)

    assert "Only the owner or a supervisor" in response.content.decode()
    fix.refresh_from_db()
    assert fix.status == "proposed"


def test_an_agent_moves_their_own_fix(agent: User) -> None:
    fix = a_fix(agent)

    console_client(agent).post(status_url(fix), {"status": "in_progress"})

    fix.refresh_from_db()
    assert fix.status == "in_progress"


def test_changing_status_needs_a_post(supervisor: User) -> None:
    fix = a_fix(supervisor)

    assert console_client(supervisor).get(status_url(fix)).status_code == 405


def test_the_list_costs_the_same_queries_whatever_its_size(agent: User) -> None:
    client = console_client(agent)
    a_fix(agent)
    few = count_queries(client, FIXES)
    for n in range(10):
        fix = process_fix_create(
            actor=agent,
            title=f"Fix {n}",
            root_cause="Cause.",
            failsafe_change="Change.",
            owner=StaffFactory(role=Role.AGENT),
            tickets=[TicketFactory(actor=agent), TicketFactory(actor=agent)],
        )
        if n % 2:
            process_fix_set_status(fix=fix, actor=fix.owner, status="in_progress")

    assert count_queries(client, FIXES) == few
