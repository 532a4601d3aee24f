"""Django's admin (/admin/) is the admin role's: agents and supervisors, who
are staff accounts too, get its login page and no data from any model."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib import admin
from django.db.models import Model
from django.test import Client
from django.urls import reverse

from accounts.models import StaffChange, User
from accounts.roles import Role
from accounts.services import staff_issue_token
from inbound.services import inbound_receive
from recovery.models import FollowUp, WebhookEndpoint
from recovery.services import authority_policy_set
from recovery.services.followup_responses import feedback_record
from recovery.services.followups_plans import PlanStep, followup_plan_set
from recovery.services.process_fixes import process_fix_create
from recovery.services.restitutions import restitution_grant
from tests.factories import QueueFactory, StaffFactory, TicketFactory, advance
from tests.helpers import console_client, not_none
from tickets.models import Kind, Severity
from tickets.services import ticket_resolve

pytestmark = pytest.mark.django_db

RAW_EMAIL = (
    b"From: Rosa Diaz <rosa@example.com>\r\nTo: help@localhost\r\n"
    b"Subject: Where is my parcel?\r\nMessage-ID: <parcel-1@example.com>\r\n\r\n"
    b"It has not come.\r\n"
)


@pytest.fixture
def one_of_everything(agent: User, supervisor: User, admin_staff: User) -> None:
    """At least one row of every model the admin shows, made by the services."""
    WebhookEndpoint.objects.create(
        url="https://shop.example/hooks",
        secret="s" * 32,
        events=[WebhookEndpoint.Event.RESTITUTION_GRANTED],
    )
    queue = QueueFactory(members=[agent])
    ticket = TicketFactory(actor=agent, kind=Kind.MISHAP, severity=Severity.MAJOR, queue=queue)
    ticket = advance(ticket, "committed")
    restitution_grant(
        ticket=ticket, actor=agent, kind="refund", amount="20.00", currency="USD", reason="Late"
    )
    ticket_resolve(ticket=ticket, actor=agent, message="The replacement arrived.")
    # Above the agent's limit: an approval request.
    restitution_grant(
        ticket=ticket, actor=agent, kind="refund", amount="45.00", currency="USD", reason="More"
    )
    authority_policy_set(
        user=agent,
        actor=supervisor,
        values={
            "per_incident_limit": Decimal("60.00"),
            "per_period_limit": Decimal("300.00"),
            "period": "week",
            "per_customer_limit": Decimal("100.00"),
            "allowed_kinds": ["refund"],
            "currency": "USD",
        },
    )
    feedback_record(followup=not_none(FollowUp.objects.filter(ticket=ticket).first()), rating=2)
    process_fix_create(
        actor=agent,
        title="Pack vases in foam",
        root_cause="Thin boxes",
        failsafe_change="Foam for anything fragile",
        tickets=[ticket],
    )
    followup_plan_set(
        severity="minor",
        actor=supervisor,
        steps=[PlanStep(1, "How are things?", "Hello {{ customer.name }}")],
    )
    inbound_receive(raw=RAW_EMAIL, source="api")
    staff_issue_token(user=agent, actor=admin_staff)
    # A failed sign-in, logged by django-axes.
    Client().post(reverse("console:login"), {"username": "nobody", "password": "guess"})


def registered() -> list[type[Model]]:
    return sorted(admin.site._registry, key=lambda model: model._meta.label)


def admin_url(model: type[Model], view: str, *args: object) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


@pytest.mark.usefixtures("one_of_everything")
@pytest.mark.parametrize("role", [Role.AGENT, Role.SUPERVISOR])
def test_agents_and_supervisors_get_no_data_from_any_admin_page(role: Role) -> None:
    client = console_client(StaffFactory(role=role))
    empty = [model._meta.label for model in registered() if not model._default_manager.exists()]
    assert not empty, f"the fixture makes no row of {empty}"

    for model in registered():
        row = model._default_manager.first()
        assert row is not None
        for url in (admin_url(model, "changelist"), admin_url(model, "change", row.pk)):
            response = client.get(url)

            assert response.status_code == 302, url
            assert response["Location"].startswith(reverse("admin:login")), url

    assert client.get(reverse("admin:index")).status_code == 302


@pytest.mark.usefixtures("one_of_everything")
def test_an_admin_sees_every_model(admin_staff: User) -> None:
    client = console_client(admin_staff)
    refused = []

    for model in registered():
        row = model._default_manager.first()
        assert row is not None
        for url in (admin_url(model, "changelist"), admin_url(model, "change", row.pk)):
            if client.get(url).status_code != 200:
                refused.append(url)

    assert not refused, "\n".join(refused)


def test_a_signed_in_agent_is_shown_the_admin_login_page_without_data(agent: User) -> None:
    ticket = TicketFactory(actor=agent, subject="Secret subject of a ticket")

    response = console_client(agent).get(
        admin_url(ticket.__class__, "change", ticket.pk), follow=True
    )

    assert response.redirect_chain[-1][0].startswith(reverse("admin:login"))
    page = response.content.decode()
    assert "not authorized to access this page" in page
    assert "Secret subject" not in page


def test_a_supervisor_cannot_sign_in_to_the_admin(supervisor: User) -> None:
    response = Client().post(
        reverse("admin:login"),
        {"username": supervisor.username, "password": "correct-horse-battery-staple"},
    )

    assert response.status_code == 200
    assert "Agents and supervisors sign in to the console" in response.content.decode()
    assert "_auth_user_id" not in response.wsgi_request.session


def test_a_role_changed_in_the_admin_goes_through_staff_upsert_and_is_audited(
    admin_staff: User, agent: User
) -> None:
    response = console_client(admin_staff).post(
        admin_url(User, "change", agent.pk),
        {
            "role": "supervisor",
            "email": agent.email,
            "first_name": "Alex",
            "last_name": "Kim",
            "is_active": "on",
        },
    )

    assert response.status_code == 302, response.content.decode()[:3000]
    assert User.objects.prefetch_related("groups").get(pk=agent.pk).role == Role.SUPERVISOR
    change = StaffChange.objects.filter(user=agent, actor=admin_staff).get()
    assert change.changes["role"] == ["agent", "supervisor"]
    assert change.changes["first_name"] == ["", "Alex"]


def test_an_admin_adds_a_member_of_staff_with_a_role(admin_staff: User) -> None:
    response = console_client(admin_staff).post(
        admin_url(User, "add"),
        {
            "username": "robin",
            "role": "agent",
            "email": "robin@staff.example",
            "first_name": "Robin",
            "last_name": "Ng",
            "password1": "a-long-fresh-passphrase",
            "password2": "a-long-fresh-passphrase",
        },
    )

    assert response.status_code == 302, response.content.decode()[:3000]
    robin = User.objects.prefetch_related("groups").get(username="robin")
    assert robin.role == Role.AGENT
    assert robin.is_staff
    assert robin.check_password("a-long-fresh-passphrase")
    assert StaffChange.objects.get(user=robin).actor == admin_staff


def test_a_weak_password_is_refused_with_the_reason_and_nothing_changes(
    admin_staff: User, agent: User
) -> None:
    response = console_client(admin_staff).post(
        admin_url(User, "change", agent.pk),
        {
            "role": "agent",
            "email": agent.email,
            "is_active": "on",
            "password1": "123",
            "password2": "123",
        },
    )

    assert response.status_code == 200
    assert "This password is too short" in response.content.decode()
    assert not StaffChange.objects.filter(actor=admin_staff).exists()


def test_an_admin_deactivates_a_leaver_but_not_themselves(admin_staff: User, agent: User) -> None:
    client = console_client(admin_staff)
    form = {"role": "agent", "email": agent.email}

    left = client.post(admin_url(User, "change", agent.pk), form)
    own = client.post(
        admin_url(User, "change", admin_staff.pk), {"role": "admin", "email": admin_staff.email}
    )

    assert left.status_code == 302
    agent.refresh_from_db()
    assert not agent.is_active
    assert StaffChange.objects.get(user=agent, actor=admin_staff).changes["is_active"] == [
        True,
        False,
    ]
    assert own.status_code == 200
    assert "Nobody deactivates their own account." in own.content.decode()
    admin_staff.refresh_from_db()
    assert admin_staff.is_active


def test_groups_are_read_only_in_the_admin(admin_staff: User) -> None:
    from django.contrib.auth.models import Group

    group = Group.objects.get(name="agent")

    response = console_client(admin_staff).post(
        admin_url(Group, "change", group.pk), {"name": "renamed", "permissions": []}
    )

    assert response.status_code == 403
    assert Group.objects.filter(name="agent").exists()


def test_queues_are_saved_through_their_service(admin_staff: User, agent: User) -> None:
    client = console_client(admin_staff)
    from tickets.models import Queue

    added = client.post(
        admin_url(Queue, "add"),
        {"name": "Returns", "slug": "returns", "members": [agent.pk]},
    )
    queue = Queue.objects.get(slug="returns")
    changed = client.post(
        admin_url(Queue, "change", queue.pk),
        {"name": "Returns desk", "slug": "returns", "restrict_to_assignee": "on"},
    )

    assert added.status_code == 302
    assert changed.status_code == 302
    queue.refresh_from_db()
    assert queue.name == "Returns desk"
    assert queue.restrict_to_assignee
    assert list(queue.members.all()) == []


def test_the_admin_still_answers_superusers() -> None:
    root = User.objects.create_superuser("root", "root@staff.example", "pw-root-123456")

    assert console_client(root).get(reverse("admin:index")).status_code == 200


def test_a_deactivated_member_of_staff_cannot_sign_in_to_the_console(admin_staff: User) -> None:
    agent = StaffFactory(role=Role.AGENT)
    console_client(admin_staff).post(
        admin_url(User, "change", agent.pk), {"role": "agent", "email": agent.email}
    )

    response = Client().post(
        reverse("console:login"),
        {"username": agent.username, "password": "correct-horse-battery-staple"},
    )

    assert response.status_code == 200
    assert "_auth_user_id" not in Client().session
    assert "Please enter the correct username and password" in response.content.decode()


def test_timeliness_targets_are_saved_through_their_service(admin_staff: User) -> None:
    from tickets.models import SeverityTarget

    target = SeverityTarget.objects.get(severity="major")
    client = console_client(admin_staff)

    saved = client.post(
        admin_url(SeverityTarget, "change", target.pk),
        {"acknowledge_within": "01:00:00", "apologize_within": "04:00:00"},
    )
    refused = client.post(
        admin_url(SeverityTarget, "change", target.pk),
        {"acknowledge_within": "05:00:00", "apologize_within": "04:00:00"},
    )

    assert saved.status_code == 302
    assert refused.status_code == 200
    assert "cannot come before the acknowledgement target" in refused.content.decode()
    target.refresh_from_db()
    assert (target.acknowledge_within, target.apologize_within) == (
        timedelta(hours=1),
        timedelta(hours=4),
    )


def test_webhook_endpoints_are_saved_through_their_service(admin_staff: User) -> None:
    response = console_client(admin_staff).post(
        admin_url(WebhookEndpoint, "add"),
        {
            "url": "https://shop.example/hooks",
            "secret": "a-secret-long-enough",
            "events": ["restitution.voided", "restitution.granted"],
            "active": "on",
        },
    )

    assert response.status_code == 302
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.events == ["restitution.granted", "restitution.voided"]
    assert endpoint.active
