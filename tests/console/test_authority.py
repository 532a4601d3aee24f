"""Authority policies in the console: the list of staff with their limits
and what is left, one person's page to change them (one call to
``authority_policy_set``) with its history, and the bulk read behind the list."""

from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import User
from accounts.roles import Role
from recovery.models import AuthorityPolicy, AuthorityPolicyChange
from recovery.selectors import authority_remaining, authority_remaining_many
from recovery.services import authority_policy_set, restitution_grant
from tests.factories import StaffFactory, TicketFactory, advance
from tests.helpers import console_client, count_queries
from tickets.models import Kind, Status

pytestmark = pytest.mark.django_db

AUTHORITY = reverse("console:authority")


def edit(user: User) -> str:
    return reverse("console:authority_edit", args=[user.pk])


def form_values(**overrides: Any) -> dict[str, Any]:
    return {
        "per_incident_limit": "80.00",
        "per_period_limit": "300.00",
        "period": "week",
        "per_customer_limit": "120.00",
        "allowed_kinds": ["refund", "gift"],
        "currency": "usd",
        **overrides,
    }


def grant(agent: User, amount: str) -> None:
    ticket = TicketFactory(actor=agent, assignee=agent, kind=Kind.MISHAP)
    ticket = advance(ticket, to=Status.COMMITTED, actor=agent)
    restitution_grant(
        ticket=ticket, actor=agent, kind="gift", amount=amount, currency="USD", reason="Flowers."
    )


# --- Who may see it ----------------------------------------------------------------


@pytest.mark.parametrize("url", ["list", "edit"])
def test_anonymous_visitors_are_asked_to_sign_in(agent: User, url: str) -> None:
    response = Client().get(AUTHORITY if url == "list" else edit(agent))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("console:login"))


def test_agents_are_refused_and_do_not_see_it_in_their_menu(agent: User) -> None:
    colleague = StaffFactory(role=Role.AGENT)
    client = console_client(agent)

    assert client.get(AUTHORITY).status_code == 403
    assert client.get(edit(colleague)).status_code == 403
    assert client.post(edit(colleague), form_values()).status_code == 403
    assert not AuthorityPolicy.objects.exists()
    menu = client.get(reverse("console:tickets_ticket_changelist")).context["console_menu"]
    assert {item["label"] for item in menu}.isdisjoint({"Authority", "Approvals"})


def test_supervisors_and_admins_see_it(supervisor: User, admin_staff: User) -> None:
    for user in (supervisor, admin_staff):
        response = console_client(user).get(AUTHORITY)
        assert response.status_code == 200
        assert "Authority" in {item["label"] for item in response.context["console_menu"]}


# --- The list ------------------------------------------------------------------------


def test_the_list_shows_each_persons_limits_and_what_is_left(supervisor: User, agent: User) -> None:
    limited = StaffFactory(role=Role.AGENT, first_name="Lee", last_name="Limited")
    authority_policy_set(user=limited, actor=supervisor, values=form_values(currency="USD"))
    grant(agent, "35.00")
    retired = StaffFactory(role=Role.AGENT)
    retired.is_active = False
    retired.save()

    response = console_client(supervisor).get(AUTHORITY)

    rows = {row["person"].pk: row for row in response.context["rows"]}
    assert set(rows) == {supervisor.pk, agent.pk, limited.pk}
    assert rows[agent.pk]["remaining"].period_spent == Decimal("35.00")
    assert rows[agent.pk]["remaining"].period_remaining == Decimal("165.00")
    assert rows[agent.pk]["remaining"].policy.is_default
    assert rows[limited.pk]["remaining"].policy.per_incident_limit == Decimal("80.00")
    assert not rows[limited.pk]["remaining"].policy.is_default
    body = response.content.decode()
    assert "Lee Limited" in body
    assert "role default" in body
    assert "300.00 USD / week" in body
    assert "Refund, Gift" in body or "Gift, Refund" in body


def test_the_list_filters_by_role(supervisor: User, agent: User) -> None:
    response = console_client(supervisor).get(AUTHORITY, {"role": "agent"})

    assert [row["person"].pk for row in response.context["rows"]] == [agent.pk]


def test_the_list_costs_the_same_queries_whatever_the_number_of_staff(supervisor: User) -> None:
    client = console_client(supervisor)

    def add_agent(n: int) -> None:
        agent = StaffFactory(role=Role.AGENT)
        if n % 2:
            authority_policy_set(
                user=agent, actor=supervisor, values=form_values(currency="USD", period="month")
            )
        grant(agent, "5.00")

    add_agent(0)
    few = count_queries(client, AUTHORITY)
    for n in range(1, 10):
        add_agent(n)
    many = count_queries(client, AUTHORITY)

    assert many == few


def test_the_bulk_read_agrees_with_authority_remaining_in_two_queries(
    supervisor: User, django_assert_num_queries: Any
) -> None:
    people = []
    for n, period in enumerate(["day", "week", "month", None]):
        person = StaffFactory(role=Role.AGENT)
        if period is not None:
            authority_policy_set(
                user=person,
                actor=supervisor,
                values=form_values(currency="USD", period=period, per_incident_limit="40.00"),
            )
        grant(person, f"{n + 1}.00")
        people.append(person)
    people = list(User.objects.filter(pk__in=[p.pk for p in people]).prefetch_related("groups"))

    with django_assert_num_queries(2):
        many = authority_remaining_many(people)

    assert many == {person.pk: authority_remaining(person) for person in people}


# --- Changing a policy ---------------------------------------------------------------


def test_the_edit_page_starts_from_the_current_policy(supervisor: User, agent: User) -> None:
    response = console_client(supervisor).get(edit(agent))

    assert response.status_code == 200
    form = response.context["form"]
    assert form.initial["per_incident_limit"] == Decimal("50.00")
    assert "Never changed" in response.content.decode()


def test_a_saved_policy_shows_in_the_history(supervisor: User, agent: User) -> None:
    client = console_client(supervisor)

    response = client.post(edit(agent), form_values(), follow=True)

    policy = AuthorityPolicy.objects.get(user=agent)
    assert policy.per_incident_limit == Decimal("80.00")
    assert policy.currency == "USD"
    assert policy.allowed_kinds == ["gift", "refund"]
    assert response.redirect_chain[-1][0] == edit(agent)
    body = response.content.decode()
    assert "is saved" in body
    change = AuthorityPolicyChange.objects.get(user=agent)
    assert change.changed_by == supervisor
    entry = response.context["history"][0]
    assert entry["change"] == change
    shown = {c.label: (c.before, c.after) for c in entry["changes"]}
    assert shown["Per incident"] == ("50.00", "80.00")
    assert shown["Source"] == ("the role's defaults", "own policy")
    assert "<del>50.00</del> → <ins>80.00</ins>" in body


def test_the_history_is_newest_first_and_paginated(supervisor: User, agent: User) -> None:
    for n in range(21):
        authority_policy_set(
            user=agent,
            actor=supervisor,
            values=form_values(currency="USD", per_incident_limit=f"{n + 1}.00"),
        )
    client = console_client(supervisor)

    first = client.get(edit(agent))
    second = client.get(edit(agent), {"p": 2})

    assert len(first.context["history"]) == 20
    assert first.context["history"][0]["changes"][0].after == "21.00"
    assert len(second.context["history"]) == 1


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("per_incident_limit", "-1.00", "A limit cannot be negative."),
        ("per_period_limit", "lots", "Enter an amount, such as 50.00."),
        ("per_customer_limit", "", "This field is required."),
        ("allowed_kinds", ["refund", "yacht"], "yacht is not a kind of restitution."),
        ("period", "fortnight", "Select a valid choice."),
        ("currency", "E1", "A three-letter ISO 4217 code, such as EUR."),
        ("per_incident_limit", "1e12", "A limit must be below 10,000,000,000."),
    ],
)
def test_invalid_values_show_errors_and_change_nothing(
    supervisor: User, agent: User, field: str, value: Any, message: str
) -> None:
    response = console_client(supervisor).post(edit(agent), form_values(**{field: value}))

    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors[field])
    assert "Nothing was saved" in response.content.decode()
    assert not AuthorityPolicy.objects.filter(user=agent).exists()
    assert not AuthorityPolicyChange.objects.exists()


def test_the_services_rules_show_on_the_form(supervisor: User, agent: User) -> None:
    # Yen have no minor units: the service refuses cents, and says so on the field.
    response = console_client(supervisor).post(
        edit(agent), form_values(currency="JPY", per_incident_limit="80.50")
    )

    assert response.status_code == 400
    assert (
        "JPY amounts have 0 decimal places at most."
        in response.context["form"].errors["per_incident_limit"]
    )
    assert not AuthorityPolicy.objects.filter(user=agent).exists()


def test_nobody_sets_their_own_authority(supervisor: User) -> None:
    client = console_client(supervisor)

    page = client.get(edit(supervisor))
    response = client.post(edit(supervisor), form_values())

    assert "policy-form" not in page.content.decode()
    assert response.status_code == 400
    assert "Nobody sets their own authority" in response.content.decode()
    assert not AuthorityPolicy.objects.exists()


def test_an_unknown_person_is_not_found(supervisor: User) -> None:
    assert (
        console_client(supervisor)
        .get(reverse("console:authority_edit", args=[999_999]))
        .status_code
        == 404
    )


def test_a_supervisor_sees_an_admins_limits_without_a_form_to_change_them(
    supervisor: User, admin_staff: User
) -> None:
    client = console_client(supervisor)

    page = client.get(edit(admin_staff))
    response = client.post(edit(admin_staff), form_values(per_period_limit="99999.00"))

    assert page.status_code == 200
    assert "policy-form" not in page.content.decode()
    assert "an admin sets a supervisor" in page.content.decode()
    assert response.status_code == 400
    assert not AuthorityPolicy.objects.exists()


def test_an_admin_changes_a_supervisors_limits_in_the_console(
    admin_staff: User, supervisor: User
) -> None:
    response = console_client(admin_staff).post(edit(supervisor), form_values())

    assert response.status_code == 302
    assert AuthorityPolicy.objects.get(user=supervisor).per_incident_limit == Decimal("80.00")
