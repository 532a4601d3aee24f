"""The customer's trust in the console and the API: the badge with its
reasons on the ticket page and each queue row, the customer page's timeline,
fragile customers first among equals in "My open work", the supervisors
alerted when a customer at risk has a new mishap, the restitution form's
guidance for a repeat failure, and ``/api/v1/customers/{id}/trust/``."""

import html
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from accounts.roles import Role
from recovery.models import FollowUp, ProcessFix
from recovery.services.followup_responses import feedback_record
from recovery.services.restitutions import REPEAT_FAILURE_GUIDANCE
from tests.factories import (
    CustomerFactory,
    QueueFactory,
    StaffFactory,
    TicketFactory,
    advance,
    give_authority,
)
from tests.helpers import client_for, console_client, not_none, ticket_page
from tickets.models import Alert, Kind, Status, Ticket
from tickets.services import ticket_convert_to_mishap, ticket_restore

pytestmark = pytest.mark.django_db

QUEUE = reverse("console:tickets_ticket_changelist")
FRAGILE = "fragile@example.com"


def fragile_customer(agent: User) -> Ticket:
    """A customer who rated their recovery 1 of 5: fragile. Returns that mishap."""
    ticket = advance(
        TicketFactory(actor=agent, kind=Kind.MISHAP, customer_email=FRAGILE), to="rebuilding"
    )
    feedback_record(followup=not_none(FollowUp.objects.filter(ticket=ticket).first()), rating=1)
    return ticket


def text(response: Any) -> str:
    assert response.status_code == 200
    return html.unescape(response.content.decode())


# --- The ticket page ------------------------------------------------------------------


def test_the_ticket_page_header_shows_the_level_and_its_reasons(agent: User) -> None:
    first = fragile_customer(agent)
    body = text(console_client(agent).get(ticket_page(first)))
    assert 'id="customer-trust" data-level="fragile"' in body
    assert "Rated 1 of 5 today." in body
    assert reverse("console:customer", args=[first.customer_id]) + "#trust-timeline" in body


def test_a_new_customers_ticket_says_there_is_too_little_to_go_on(agent: User) -> None:
    ticket = TicketFactory(actor=agent)
    body = text(console_client(agent).get(ticket_page(ticket)))
    assert 'data-level="new"' in body
    assert "First ticket with us." in body


# The ticket page's queries for a committed mishap of an agent who may grant,
# as measured before the trust profile came (issue 19, at 378bba3): the
# profile rides in the ticket's own query, the repeat failure's process fix too.
TICKET_PAGE_QUERIES = 18


@pytest.mark.parametrize("repeat", [False, True])
def test_the_trust_profile_costs_the_ticket_page_no_query(agent: User, repeat: bool) -> None:
    give_authority(agent, kinds=["credit"])
    if repeat:
        first = TicketFactory(actor=agent, kind=Kind.MISHAP, customer_email="rep@example.com")
        advance(first, to="rebuilding")
    ticket = TicketFactory(actor=agent, kind=Kind.MISHAP, customer_email="rep@example.com")
    ticket = advance(ticket, to=Status.COMMITTED)
    assert ticket.is_repeat_failure == repeat
    client = console_client(agent)
    client.get(ticket_page(ticket))  # sessions and caches warm
    with CaptureQueriesContext(connection) as queries:
        assert client.get(ticket_page(ticket)).status_code == 200
    assert len(queries) <= TICKET_PAGE_QUERIES


# --- The queue --------------------------------------------------------------------------


def test_each_queue_row_carries_its_customers_badge(agent: User) -> None:
    fragile = fragile_customer(agent)
    calm = TicketFactory(actor=agent)
    response = console_client(agent).get(QUEUE, {"show": "all"})
    rows = {row.pk: row for row in response.context["cl"].result_list}
    assert rows[fragile.pk].customer_trust.level == "fragile"
    assert rows[calm.pk].customer_trust.level == "new"
    body = text(response)
    assert 'class="badge trust-fragile" title="Fragile: rated 1 of 5 today."' in body
    assert '<span class="row-meta trust-reasons">rated 1 of 5 today</span>' in body


def test_a_fragile_customers_ticket_comes_first_among_equals(agent: User) -> None:
    fragile_customer(agent)
    older = TicketFactory(actor=agent, subject="Calm customer")
    newer = TicketFactory(actor=agent, customer_email=FRAGILE, subject="Fragile customer")
    order = [t.pk for t in console_client(agent).get(QUEUE).context["cl"].result_list]
    assert order.index(newer.pk) < order.index(older.pk)


def test_a_missed_target_still_comes_before_a_fragile_customer(agent: User) -> None:
    fragile_customer(agent)
    late = TicketFactory(actor=agent, subject="Late")
    Ticket.objects.filter(pk=late.pk).update(clock_started_at=timezone.now() - timedelta(days=3))
    fragile = TicketFactory(actor=agent, customer_email=FRAGILE)
    order = [t.pk for t in console_client(agent).get(QUEUE).context["cl"].result_list]
    assert order.index(late.pk) < order.index(fragile.pk)


def test_the_queue_costs_the_same_queries_with_trust_for_2_or_12_customers(agent: User) -> None:
    client = console_client(agent)
    for _ in range(2):
        TicketFactory(actor=agent, kind=Kind.MISHAP)
    with CaptureQueriesContext(connection) as few:
        client.get(QUEUE)
    fragile_customer(agent)
    for _ in range(10):
        TicketFactory(actor=agent, kind=Kind.MISHAP)
    with CaptureQueriesContext(connection) as many:
        client.get(QUEUE)
    assert len(many) == len(few)


# --- The customer page ------------------------------------------------------------------


def test_the_customer_page_draws_the_trust_events(agent: User) -> None:
    first = fragile_customer(agent)
    body = text(console_client(agent).get(reverse("console:customer", args=[first.customer_id])))
    assert 'id="trust-chart"' in body
    assert 'class="mark mark-mishap"' in body
    assert 'class="mark mark-rating"' in body
    assert 'class="mark mark-kept"' in body
    assert "Rated 1 of 5" in body
    assert "Promise kept: A replacement ships today." in body


def test_a_customer_without_events_has_an_empty_timeline(agent: User) -> None:
    customer = CustomerFactory()
    body = text(console_client(agent).get(reverse("console:customer", args=[customer.pk])))
    assert 'id="trust-chart"' not in body
    assert "No trust events yet" in body


# --- The supervisors are told -------------------------------------------------------------


def test_a_new_mishap_of_a_fragile_customer_alerts_the_supervisors(agent: User) -> None:
    supervisor = StaffFactory(role=Role.SUPERVISOR)
    first = fragile_customer(agent)
    ticket_restore(ticket=first, actor=agent, reason="Done.")
    # Long after: no repeat failure, but the low rating still stands.
    with time_machine.travel(timezone.now() + timedelta(days=100), tick=False):
        question = TicketFactory(actor=agent, customer_email=FRAGILE)
        assert not Alert.objects.filter(kind=Alert.Kind.TRUST_AT_RISK).exists()
        mishap = ticket_convert_to_mishap(ticket=question, actor=agent, our_part="We lost it.")
    assert not mishap.is_repeat_failure
    alert = Alert.objects.get(ticket=mishap, kind=Alert.Kind.TRUST_AT_RISK)
    assert "was already fragile (rated 1 of 5 100 days ago)" in alert.detail
    assert set(alert.recipients.all()) == {supervisor}


def test_a_new_mishap_of_a_recovering_customer_alerts_the_supervisors(agent: User) -> None:
    StaffFactory(role=Role.SUPERVISOR)
    TicketFactory(actor=agent, kind=Kind.MISHAP, customer_email="busy@example.com")
    second = TicketFactory(actor=agent, kind=Kind.MISHAP, customer_email="busy@example.com")
    alert = Alert.objects.get(ticket=second, kind=Alert.Kind.TRUST_AT_RISK)
    assert "was already recovering (a mishap being put right now)" in alert.detail


def test_a_steady_customers_mishap_alerts_nobody(agent: User) -> None:
    TicketFactory(actor=agent, kind=Kind.MISHAP)
    assert not Alert.objects.filter(kind=Alert.Kind.TRUST_AT_RISK).exists()


def test_a_repeat_failure_is_alerted_once_as_such(agent: User) -> None:
    advance(
        TicketFactory(actor=agent, kind=Kind.MISHAP, customer_email="rep@example.com"),
        to="rebuilding",
    )
    again = TicketFactory(actor=agent, kind=Kind.MISHAP, customer_email="rep@example.com")
    kinds = list(Alert.objects.filter(ticket=again).values_list("kind", flat=True))
    assert kinds == [Alert.Kind.REPEAT_FAILURE]


# --- Restitution guidance for a repeat failure --------------------------------------------


def test_a_repeat_failures_restitution_form_points_to_the_process_fix(agent: User) -> None:
    give_authority(agent, kinds=["credit"])
    first = advance(
        TicketFactory(actor=agent, kind=Kind.MISHAP, customer_email="rep@example.com"),
        to="rebuilding",
    )
    again = TicketFactory(actor=agent, kind=Kind.MISHAP, customer_email="rep@example.com")
    body = text(console_client(agent).get(ticket_page(again)))
    assert 'id="repeat-guidance"' in body
    assert REPEAT_FAILURE_GUIDANCE in body
    assert "not recovered by money alone" in body
    propose = reverse("console:process_fixes") + f"?tickets={again.reference}+{first.reference}"
    assert propose in body
    # Once a fix exists for either ticket, the guidance names it instead.
    fix = ProcessFix.objects.create(
        title="Check the label before shipping",
        root_cause="Labels swapped.",
        failsafe_change="Scan each label.",
        owner=agent,
        created_by=agent,
    )
    fix.tickets.add(first)
    body = text(console_client(agent).get(ticket_page(again)))
    assert "Process fix:" in body
    assert "Check the label before shipping</a> (proposed)" in body


def test_a_first_failures_form_has_no_such_guidance(agent: User) -> None:
    give_authority(agent, kinds=["credit"])
    ticket = TicketFactory(actor=agent, kind=Kind.MISHAP)
    assert 'id="repeat-guidance"' not in text(console_client(agent).get(ticket_page(ticket)))


def test_the_process_fix_form_starts_with_the_tickets_named(agent: User) -> None:
    supervisor = StaffFactory(role=Role.SUPERVISOR)
    response = console_client(supervisor).get(
        reverse("console:process_fixes"), {"tickets": "HD-000001 HD-000002"}
    )
    assert 'value="HD-000001 HD-000002"' in response.content.decode()


# --- The API --------------------------------------------------------------------------------


def test_the_trust_endpoint_gives_level_reasons_figures_and_as_of(agent: User) -> None:
    first = fragile_customer(agent)
    response = client_for(agent).get(f"/api/v1/customers/{first.customer_id}/trust/")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"level", "reasons", "figures", "as_of"}
    assert body["level"] == "fragile"
    assert body["reasons"] == ["rated 1 of 5 today"]
    assert body["figures"]["mishaps_90_days"] == 1
    assert body["figures"]["last_rating"] == 1
    assert body["figures"]["promises_kept"] == 1
    assert all(isinstance(reason, str) for reason in body["reasons"])


def test_the_trust_endpoint_of_an_unknown_customer_is_404(agent: User) -> None:
    response = client_for(agent).get("/api/v1/customers/999999/trust/")
    assert response.status_code == 404
    assert "No customer" in response.json()["detail"]


def test_the_trust_endpoint_needs_a_signed_in_caller() -> None:
    customer = CustomerFactory()
    from rest_framework.test import APIClient

    assert APIClient().get(f"/api/v1/customers/{customer.pk}/trust/").status_code in (401, 403)


def test_the_ticket_detail_carries_the_same_profile(agent: User) -> None:
    first = fragile_customer(agent)
    api = client_for(agent)
    detail = api.get(f"/api/v1/tickets/{first.pk}/").json()["customer_trust"]
    alone = api.get(f"/api/v1/customers/{first.customer_id}/trust/").json()
    assert {k: v for k, v in detail.items() if k != "as_of"} == {
        k: v for k, v in alone.items() if k != "as_of"
    }
    assert detail["level"] == "fragile"


def test_a_queue_member_sees_the_trust_of_a_customer_outside_their_queues(agent: User) -> None:
    other = StaffFactory(role=Role.AGENT)
    ticket = TicketFactory(actor=other, queue=QueueFactory(members=[other]))
    response = client_for(agent).get(f"/api/v1/customers/{ticket.customer_id}/trust/")
    assert response.status_code == 200


def test_a_grant_on_a_repeat_failure_says_money_alone_does_not_recover_it(agent: User) -> None:
    give_authority(agent, kinds=["credit"])
    advance(
        TicketFactory(actor=agent, kind=Kind.MISHAP, customer_email="rep@example.com"),
        to="rebuilding",
    )
    again = TicketFactory(actor=agent, kind=Kind.MISHAP, customer_email="rep@example.com")
    first_time = TicketFactory(actor=agent, kind=Kind.MISHAP)
    grant = {"kind": "credit", "amount": "10.00", "currency": "USD", "reason": "Sorry."}
    api = client_for(agent)
    repeat = api.post(f"/api/v1/tickets/{again.pk}/restitutions/", grant, format="json")
    first = api.post(f"/api/v1/tickets/{first_time.pk}/restitutions/", grant, format="json")
    assert repeat.status_code == first.status_code == 201
    assert repeat.json()["repeat_failure_guidance"] == REPEAT_FAILURE_GUIDANCE
    assert first.json()["repeat_failure_guidance"] is None
