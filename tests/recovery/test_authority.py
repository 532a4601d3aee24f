"""Authority policies (SPEC, "Authority and restitution"): the role's defaults
when no policy is set, who may change a policy and how every change is
recorded, and periods counted in the deployment's time zone."""

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings as django_settings
from django.utils import timezone

from accounts.models import User
from accounts.roles import Role
from core.errors import NotPermitted, RuleViolation
from recovery.models import AuthorityPolicy, AuthorityPolicyChange, Restitution
from recovery.selectors import authority_remaining, period_start, policy_for
from recovery.services import authority_policy_set
from recovery.services.restitutions import restitution_grant
from tests.factories import StaffFactory, TicketFactory
from tickets.models import Kind

pytestmark = pytest.mark.django_db

AUCKLAND = "Pacific/Auckland"
LOS_ANGELES = "America/Los_Angeles"


def policy_values(**overrides: Any) -> dict[str, Any]:
    return {
        "per_incident_limit": "80.00",
        "per_period_limit": "300.00",
        "period": "week",
        "per_customer_limit": "120.00",
        "allowed_kinds": ["refund", "gift"],
        "currency": "USD",
        **overrides,
    }


def record_of(values: dict[str, Any], *, is_default: bool = False) -> dict[str, Any]:
    """How ``AuthorityPolicyChange`` records a policy (amounts as strings)."""
    return {
        "per_incident_limit": values["per_incident_limit"],
        "per_period_limit": values["per_period_limit"],
        "period": values["period"],
        "per_customer_limit": values["per_customer_limit"],
        "allowed_kinds": sorted(values["allowed_kinds"]),
        "currency": values["currency"],
        "is_default": is_default,
    }


# --- Defaults per role ---------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.AGENT, Role.SUPERVISOR, Role.ADMIN])
def test_without_a_policy_the_roles_defaults_apply(role: Role) -> None:
    user = StaffFactory(role=role)
    defaults = django_settings.HELPDESK_AUTHORITY_DEFAULTS[role.value]

    policy = policy_for(user)

    assert policy.is_default is True
    assert policy.per_incident_limit == Decimal(str(defaults["per_incident_limit"]))
    assert policy.per_period_limit == Decimal(str(defaults["per_period_limit"]))
    assert policy.per_customer_limit == Decimal(str(defaults["per_customer_limit"]))
    assert policy.period == defaults["period"]
    assert list(policy.allowed_kinds) == defaults["allowed_kinds"]
    assert policy.currency == django_settings.DEFAULT_CURRENCY
    assert not AuthorityPolicy.objects.filter(user=user).exists()


def test_agent_defaults_are_the_documented_ones(agent: User) -> None:
    policy = policy_for(agent)

    assert (policy.per_incident_limit, policy.per_period_limit, policy.per_customer_limit) == (
        Decimal("50.00"),
        Decimal("200.00"),
        Decimal("100.00"),
    )
    assert policy.period == "week"
    assert "replacement" not in policy.allowed_kinds


def test_supervisor_defaults_are_wider_than_an_agents(agent: User, supervisor: User) -> None:
    theirs, mine = policy_for(supervisor), policy_for(agent)

    assert theirs.per_incident_limit > mine.per_incident_limit
    assert theirs.per_period_limit > mine.per_period_limit
    assert set(theirs.allowed_kinds) > set(mine.allowed_kinds)


def test_staff_without_a_role_have_no_authority_at_all() -> None:
    # No service creates role-less staff; this is an account whose role was removed.
    nobody = User.objects.create_user(username="role-less", is_staff=True)

    policy = policy_for(nobody)
    left = authority_remaining(nobody)

    assert policy.per_incident_limit == policy.per_period_limit == policy.per_customer_limit == 0
    assert policy.allowed_kinds == ()
    assert left.period_remaining == Decimal("0.00")


def test_a_policy_row_replaces_the_defaults(agent: User, supervisor: User) -> None:
    authority_policy_set(user=agent, actor=supervisor, values=policy_values())

    policy = policy_for(agent)

    assert policy.is_default is False
    assert policy.per_incident_limit == Decimal("80.00")
    assert policy.per_period_limit == Decimal("300.00")
    assert policy.per_customer_limit == Decimal("120.00")
    assert policy.allowed_kinds == ("gift", "refund")
    assert authority_remaining(agent).period_remaining == Decimal("300.00")


# --- Who may set a policy ------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.SUPERVISOR, Role.ADMIN])
def test_supervisors_and_admins_set_an_agents_policy(agent: User, role: Role) -> None:
    actor = StaffFactory(role=role)

    policy = authority_policy_set(user=agent, actor=actor, values=policy_values())

    assert policy.user == agent
    assert AuthorityPolicy.objects.get(user=agent).per_period_limit == Decimal("300.00")


def test_an_agent_cannot_set_anyones_policy(agent: User) -> None:
    colleague = StaffFactory(role=Role.AGENT)

    with pytest.raises(NotPermitted):
        authority_policy_set(user=colleague, actor=agent, values=policy_values())

    assert not AuthorityPolicy.objects.exists()
    assert not AuthorityPolicyChange.objects.exists()


@pytest.mark.parametrize("role", [Role.SUPERVISOR, Role.ADMIN])
def test_nobody_sets_their_own_policy(role: Role) -> None:
    user = StaffFactory(role=role)

    with pytest.raises(NotPermitted, match="own authority"):
        authority_policy_set(
            user=user, actor=user, values=policy_values(per_period_limit="999999.00")
        )

    assert not AuthorityPolicy.objects.exists()
    assert not AuthorityPolicyChange.objects.exists()


@pytest.mark.parametrize("target", [Role.SUPERVISOR, Role.ADMIN])
def test_a_supervisor_sets_only_agents_policies(supervisor: User, target: Role) -> None:
    other = StaffFactory(role=target)

    with pytest.raises(NotPermitted, match="Supervisors set agents' authority"):
        authority_policy_set(user=other, actor=supervisor, values=policy_values())

    assert not AuthorityPolicy.objects.exists()
    assert not AuthorityPolicyChange.objects.exists()


@pytest.mark.parametrize("target", [Role.AGENT, Role.SUPERVISOR, Role.ADMIN])
def test_an_admin_sets_anyones_policy_but_their_own(admin_staff: User, target: Role) -> None:
    other = StaffFactory(role=target)

    authority_policy_set(user=other, actor=admin_staff, values=policy_values())

    assert policy_for(other).per_incident_limit == Decimal("80.00")
    assert AuthorityPolicyChange.objects.get(user=other).changed_by == admin_staff


def test_authority_is_for_active_staff_only(supervisor: User, agent: User) -> None:
    agent.is_active = False
    agent.save(update_fields=["is_active"])

    with pytest.raises(RuleViolation, match="active staff"):
        authority_policy_set(user=agent, actor=supervisor, values=policy_values())

    assert not AuthorityPolicy.objects.exists()


# --- Validation ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "bad"),
    [
        ("per_incident_limit", "-1.00"),
        ("per_period_limit", "-0.01"),
        ("per_customer_limit", "-5"),
        ("per_incident_limit", "10.005"),
        ("per_period_limit", "not money"),
        ("per_customer_limit", "NaN"),
        ("per_period_limit", "10000000000.00"),
        ("period", "year"),
        ("period", ""),
        ("allowed_kinds", ["refund", "bribe"]),
        ("allowed_kinds", "refund"),
        ("currency", "EU"),
        ("currency", "E1R"),
        ("currency", "EURO"),
        ("currency", "ÉUR"),
    ],
)
def test_an_invalid_policy_is_refused_and_changes_nothing(
    agent: User, supervisor: User, field: str, bad: object
) -> None:
    authority_policy_set(user=agent, actor=supervisor, values=policy_values())
    before = policy_for(agent)

    # A change to another field too, so that a partial write would show.
    values = policy_values(per_incident_limit="10.00")
    values[field] = bad

    with pytest.raises(RuleViolation) as refused:
        authority_policy_set(user=agent, actor=supervisor, values=values)

    assert field in refused.value.extra["errors"]
    assert policy_for(agent) == before
    assert AuthorityPolicyChange.objects.filter(user=agent).count() == 1


def test_a_policy_missing_a_field_is_refused(agent: User, supervisor: User) -> None:
    values = policy_values()
    del values["per_customer_limit"]

    with pytest.raises(RuleViolation) as refused:
        authority_policy_set(user=agent, actor=supervisor, values=values)

    assert "per_customer_limit" in refused.value.extra["errors"]
    assert not AuthorityPolicy.objects.exists()
    assert not AuthorityPolicyChange.objects.exists()


def test_an_invalid_first_policy_leaves_the_defaults_in_place(
    agent: User, supervisor: User
) -> None:
    with pytest.raises(RuleViolation):
        authority_policy_set(
            user=agent, actor=supervisor, values=policy_values(per_period_limit="-10.00")
        )

    assert policy_for(agent).is_default is True
    assert not AuthorityPolicy.objects.exists()
    assert not AuthorityPolicyChange.objects.exists()


def test_a_lower_case_currency_is_stored_as_its_iso_code(agent: User, supervisor: User) -> None:
    authority_policy_set(user=agent, actor=supervisor, values=policy_values(currency="eur"))

    assert policy_for(agent).currency == "EUR"


def test_a_currency_without_minor_units_refuses_cents(agent: User, supervisor: User) -> None:
    with pytest.raises(RuleViolation) as refused:
        authority_policy_set(
            user=agent,
            actor=supervisor,
            values=policy_values(currency="JPY", per_incident_limit="100.50"),
        )

    assert "per_incident_limit" in refused.value.extra["errors"]
    assert not AuthorityPolicy.objects.exists()


# --- The record of changes -----------------------------------------------------------


def test_the_first_change_records_the_roles_defaults_as_the_old_policy(
    agent: User, supervisor: User
) -> None:
    defaults = policy_for(agent).as_record()

    authority_policy_set(user=agent, actor=supervisor, values=policy_values())

    change = AuthorityPolicyChange.objects.get(user=agent)
    assert change.changed_by == supervisor
    assert change.changed_at is not None
    assert change.old == defaults
    assert change.old["is_default"] is True
    assert change.old["per_incident_limit"] == "50.00"
    assert change.new == record_of(policy_values())


def test_every_change_is_recorded_with_the_previous_policy_as_old(
    agent: User, supervisor: User, admin_staff: User
) -> None:
    first, second = policy_values(), policy_values(per_period_limit="150.00", period="day")

    authority_policy_set(user=agent, actor=supervisor, values=first)
    authority_policy_set(user=agent, actor=admin_staff, values=second)

    latest, earlier = AuthorityPolicyChange.objects.filter(user=agent)
    assert earlier.new == record_of(first)
    assert latest.old == record_of(first)
    assert latest.new == record_of(second)
    assert latest.changed_by == admin_staff


def test_setting_the_same_policy_again_records_nothing(agent: User, supervisor: User) -> None:
    authority_policy_set(user=agent, actor=supervisor, values=policy_values())

    authority_policy_set(user=agent, actor=supervisor, values=policy_values())
    # The same kinds in another order, and amounts written differently, are the same policy.
    authority_policy_set(
        user=agent,
        actor=supervisor,
        values=policy_values(
            allowed_kinds=["gift", "refund", "gift"], per_incident_limit="80", currency="usd"
        ),
    )

    assert AuthorityPolicyChange.objects.filter(user=agent).count() == 1


# --- Periods in the deployment's time zone -------------------------------------------


def local(zone: str, year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=ZoneInfo(zone))


# Each pair: one minute before and one minute after a local boundary, two
# instants that fall in the same UTC day, week or month.
BOUNDARIES = [
    pytest.param(
        AUCKLAND,
        "day",
        local(AUCKLAND, 2025, 6, 10, 23, 59),
        local(AUCKLAND, 2025, 6, 11, 0, 1),
        date(2025, 6, 10),
        date(2025, 6, 11),
        id="auckland-midnight",
    ),
    pytest.param(
        LOS_ANGELES,
        "day",
        local(LOS_ANGELES, 2025, 6, 10, 23, 59),
        local(LOS_ANGELES, 2025, 6, 11, 0, 1),
        date(2025, 6, 10),
        date(2025, 6, 11),
        id="los-angeles-midnight",
    ),
    pytest.param(
        AUCKLAND,
        "week",
        local(AUCKLAND, 2025, 6, 15, 23, 59),  # a Sunday
        local(AUCKLAND, 2025, 6, 16, 0, 1),  # the Monday after
        date(2025, 6, 9),
        date(2025, 6, 16),
        id="auckland-sunday-to-monday",
    ),
    pytest.param(
        LOS_ANGELES,
        "week",
        local(LOS_ANGELES, 2025, 6, 15, 23, 59),
        local(LOS_ANGELES, 2025, 6, 16, 0, 1),
        date(2025, 6, 9),
        date(2025, 6, 16),
        id="los-angeles-sunday-to-monday",
    ),
    pytest.param(
        AUCKLAND,
        "month",
        local(AUCKLAND, 2025, 6, 30, 23, 59),
        local(AUCKLAND, 2025, 7, 1, 0, 1),
        date(2025, 6, 1),
        date(2025, 7, 1),
        id="auckland-month-end",
    ),
    pytest.param(
        AUCKLAND,
        "month",
        local(AUCKLAND, 2025, 12, 31, 23, 59),  # summer time, UTC+13
        local(AUCKLAND, 2026, 1, 1, 0, 1),
        date(2025, 12, 1),
        date(2026, 1, 1),
        id="auckland-year-end-in-summer-time",
    ),
    pytest.param(
        LOS_ANGELES,
        "month",
        local(LOS_ANGELES, 2025, 6, 30, 23, 59),
        local(LOS_ANGELES, 2025, 7, 1, 0, 1),
        date(2025, 6, 1),
        date(2025, 7, 1),
        id="los-angeles-month-end",
    ),
]


@pytest.mark.parametrize(("zone", "period", "before", "after", "first", "second"), BOUNDARIES)
def test_a_period_starts_at_the_local_boundary_not_at_utcs(
    settings: Any,
    zone: str,
    period: str,
    before: datetime,
    after: datetime,
    first: date,
    second: date,
) -> None:
    settings.TIME_ZONE = "UTC"
    assert period_start(period, before) == period_start(period, after), "same UTC period"

    settings.TIME_ZONE = zone

    assert period_start(period, before) == first
    assert period_start(period, after) == second


def test_a_week_starts_on_monday(settings: Any) -> None:
    settings.TIME_ZONE = AUCKLAND

    assert period_start("week", local(AUCKLAND, 2025, 6, 16, 0, 0)) == date(2025, 6, 16)
    assert period_start("week", local(AUCKLAND, 2025, 6, 22, 23, 59)) == date(2025, 6, 16)


def test_period_start_defaults_to_now_in_the_deployment_zone(settings: Any) -> None:
    settings.TIME_ZONE = AUCKLAND
    # 11:30 UTC on 10 June is already 23:30 on 10 June in Auckland; 12:30 UTC is 11 June.
    with time_machine.travel(local("UTC", 2025, 6, 10, 12, 30), tick=False):
        assert period_start("day") == date(2025, 6, 11)
        assert period_start("month") == date(2025, 6, 1)


def test_period_start_ignores_a_time_zone_activated_for_display(settings: Any) -> None:
    settings.TIME_ZONE = AUCKLAND
    just_after_midnight = local(AUCKLAND, 2025, 6, 11, 0, 1)

    with timezone.override(ZoneInfo(LOS_ANGELES)):
        start = period_start("day", just_after_midnight)

    assert start == date(2025, 6, 11)


def grant(agent: User, amount: str) -> Restitution:
    return restitution_grant(
        ticket=TicketFactory(kind=Kind.MISHAP, actor=agent),
        actor=agent,
        kind="refund",
        amount=amount,
        currency="USD",
        reason="The order arrived late.",
    )


@pytest.mark.parametrize(("zone", "period", "before", "after", "first", "second"), BOUNDARIES)
def test_the_period_limit_resets_at_the_local_boundary(
    settings: Any,
    supervisor: User,
    zone: str,
    period: str,
    before: datetime,
    after: datetime,
    first: date,
    second: date,
) -> None:
    settings.TIME_ZONE = zone
    agent = StaffFactory(role=Role.AGENT)
    authority_policy_set(
        user=agent,
        actor=supervisor,
        values=policy_values(
            period=period,
            per_incident_limit="50.00",
            per_period_limit="50.00",
            per_customer_limit="1000.00",
        ),
    )

    with time_machine.travel(before - timedelta(minutes=5), tick=False) as traveller:
        spends_it_all = grant(agent, "50.00")
        traveller.move_to(before)
        one_more_before_the_boundary = grant(agent, "1.00")
        left_before = authority_remaining(agent)
        traveller.move_to(after)
        just_after_the_boundary = grant(agent, "50.00")
        left_after = authority_remaining(agent)

    assert spends_it_all.status == Restitution.Status.GRANTED
    assert one_more_before_the_boundary.status == Restitution.Status.PENDING_APPROVAL
    assert one_more_before_the_boundary.approval.limits_exceeded == ["per_period_limit"]
    assert (left_before.period_start, left_before.period_remaining) == (first, Decimal("0.00"))
    assert just_after_the_boundary.status == Restitution.Status.GRANTED
    assert (left_after.period_start, left_after.period_spent) == (second, Decimal("50.00"))


def test_what_is_left_is_of_the_current_period_only(supervisor: User, settings: Any) -> None:
    settings.TIME_ZONE = LOS_ANGELES
    agent = StaffFactory(role=Role.AGENT)
    authority_policy_set(user=agent, actor=supervisor, values=policy_values(period="day"))
    with time_machine.travel(local(LOS_ANGELES, 2025, 6, 10, 9, 0), tick=False):
        grant(agent, "40.00")

    yesterday = authority_remaining(agent, at=local(LOS_ANGELES, 2025, 6, 10, 23, 0))
    today = authority_remaining(agent, at=local(LOS_ANGELES, 2025, 6, 11, 1, 0))

    assert yesterday.period_spent == Decimal("40.00")
    assert yesterday.period_remaining == Decimal("260.00")
    assert today.period_spent == Decimal("0.00")
    assert today.period_remaining == Decimal("300.00")
