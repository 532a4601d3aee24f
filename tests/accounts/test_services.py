from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError

from accounts.models import Customer, StaffChange
from accounts.roles import Role
from accounts.services import customer_upsert, staff_update_profile, staff_upsert
from tests.factories import StaffFactory


@pytest.mark.django_db
def test_customer_email_matches_without_regard_to_case() -> None:
    first, created = customer_upsert(email="Maria.Silva@Example.com", name="Maria Silva")
    again, created_again = customer_upsert(
        email="maria.silva@example.COM", name="Maria S. Silva", time_zone="America/Sao_Paulo"
    )

    assert created
    assert not created_again
    assert again.pk == first.pk
    assert again.name == "Maria S. Silva"
    assert again.time_zone == "America/Sao_Paulo"
    assert again.email == "Maria.Silva@Example.com"
    assert Customer.objects.count() == 1


@pytest.mark.django_db
def test_the_database_refuses_a_second_customer_with_the_same_address() -> None:
    customer_upsert(email="dup@example.com", name="First")

    with pytest.raises(IntegrityError):
        Customer.objects.create(email="DUP@example.com", name="Second")


@pytest.mark.django_db
def test_omitted_customer_fields_keep_their_values() -> None:
    customer_upsert(email="a@example.com", name="A", time_zone="Asia/Tokyo", locale="ja")

    customer, _ = customer_upsert(email="a@example.com", name="A")

    assert (customer.time_zone, customer.locale) == ("Asia/Tokyo", "ja")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("fields", "error_field"),
    [
        ({"email": "nope", "name": "X"}, "email"),
        ({"email": "x@example.com", "name": "  "}, "name"),
        ({"email": "x@example.com", "name": "X", "time_zone": "Moon/Base"}, None),
        ({"email": "x@example.com", "name": "X", "locale": "English!"}, None),
    ],
)
def test_bad_customer_input_is_refused_and_nothing_is_written(
    fields: dict[str, Any], error_field: str | None
) -> None:
    with pytest.raises(ValidationError) as excinfo:
        customer_upsert(**fields)

    if error_field:
        assert error_field in excinfo.value.message_dict
    assert not Customer.objects.exists()


@pytest.mark.django_db
def test_changing_role_leaves_exactly_one_role() -> None:
    user = StaffFactory(role=Role.ADMIN)

    staff_upsert(username=user.username, role=Role.AGENT)

    user.refresh_from_db()
    assert [g.name for g in user.groups.all()] == ["agent"]


@pytest.mark.django_db
def test_an_unchanged_upsert_writes_no_audit_row() -> None:
    user = StaffFactory(role=Role.AGENT, password=None)
    before = StaffChange.objects.count()

    staff_upsert(username=user.username, role=Role.AGENT, email=user.email)

    assert StaffChange.objects.count() == before


@pytest.mark.django_db
def test_profile_update_is_audited_with_old_and_new_values() -> None:
    user = StaffFactory(role=Role.AGENT)

    staff_update_profile(user=user, time_zone="Europe/Paris", first_name="Alex")

    change = StaffChange.objects.filter(user=user, action=StaffChange.Action.UPDATED).get()
    assert change.actor == user
    assert change.changes == {"time_zone": ["", "Europe/Paris"], "first_name": ["", "Alex"]}


@pytest.mark.django_db
def test_profile_update_refuses_other_fields() -> None:
    user = StaffFactory(role=Role.AGENT)

    with pytest.raises(ValidationError, match="cannot be changed"):
        staff_update_profile(user=user, is_superuser=True)

    user.refresh_from_db()
    assert not user.is_superuser
