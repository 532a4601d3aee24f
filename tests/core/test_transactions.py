"""A service other services call (``joins_callers_transaction``): one entry
point, in a transaction of its own when called alone, in the caller's (no
savepoint) when called by another service."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from accounts.models import Customer
from accounts.services import customer_upsert
from core.transactions import joins_callers_transaction


class Refused(Exception):
    pass


@joins_callers_transaction
def write_then_fail(*, email: str) -> None:
    Customer.objects.create(email=email, name="Half Written")
    raise Refused


@pytest.mark.django_db(transaction=True)
def test_called_alone_it_is_atomic() -> None:
    with pytest.raises(Refused):
        write_then_fail(email="alone@example.com")

    assert not Customer.objects.filter(email="alone@example.com").exists()


@transaction.atomic
def caller() -> None:
    Customer.objects.create(email="caller@example.com", name="Caller")
    write_then_fail(email="inner@example.com")


@pytest.mark.django_db(transaction=True)
def test_called_by_another_service_it_is_undone_with_the_caller() -> None:
    with pytest.raises(Refused):
        caller()

    assert not Customer.objects.filter(email__in=["caller@example.com", "inner@example.com"])


@pytest.mark.django_db
def test_inside_a_transaction_it_opens_no_savepoint() -> None:
    with transaction.atomic(), CaptureQueriesContext(connection) as captured:
        _, created = customer_upsert(email="pat@example.com", name="Pat")

    assert created
    # The upsert's own savepoint guards only the INSERT of a new address.
    savepoints = [q["sql"] for q in captured if q["sql"].startswith("SAVEPOINT")]
    assert len(savepoints) == 1


@pytest.mark.django_db
def test_a_refusal_leaves_the_callers_transaction_usable() -> None:
    with transaction.atomic():
        with pytest.raises(Exception, match="not a valid email"):
            customer_upsert(email="not an address", name="Nobody")
        customer, _ = customer_upsert(email="pat@example.com", name="Pat")

    assert Customer.objects.get(pk=customer.pk).name == "Pat"
