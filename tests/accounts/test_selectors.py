import pytest
from django.db import connection, transaction

from accounts.selectors import customers_with_email
from accounts.services import customer_upsert

pytestmark = pytest.mark.django_db


def test_a_customer_is_found_by_address_whatever_its_case() -> None:
    customer, _ = customer_upsert(email="Maria.Silva@Example.com", name="Maria Silva")

    assert customers_with_email("maria.silva@EXAMPLE.com").get() == customer
    assert customer_upsert(email="MARIA.SILVA@example.com", name="M", keep_existing=True) == (
        customer,
        False,
    )
    assert not customers_with_email("maria@example.com").exists()


def test_the_lookup_can_use_the_unique_index_on_the_lowered_address() -> None:
    """Every new ticket looks its customer up: with upper() on both sides (as
    ``email__iexact`` writes it) that read the whole table."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")
        plan = customers_with_email("Pat@Example.com").select_for_update().explain()

    assert "accounts_customer_email_ci_unique" in plan
