"""Amounts have their currency's decimal places as CLDR gives them (through
Babel: ISO 4217's minor units except where CLDR records that they are not
used in practice), as far as the numeric(12, 2) columns hold them."""

from decimal import Decimal
from typing import Any

import pytest

from accounts.models import User
from core.errors import RuleViolation
from core.money import MoneyError, minor_units, percent_of, round_amount, stored_places, to_amount
from recovery.models import AuthorityPolicy
from recovery.services import authority_policy_set


@pytest.mark.parametrize(
    ("currency", "units", "stored"),
    [
        ("JPY", 0, 0),
        ("EUR", 2, 2),
        ("BHD", 3, 2),
        # ISO 4217 gives both 2 minor units; CLDR's digits (Babel 2.19) are 0:
        # CLDR records that the minor unit is not used in practice.
        ("HUF", 0, 0),
        ("IDR", 0, 0),
    ],
)
def test_decimal_places_are_cldrs_digits_through_babel(
    currency: str, units: int, stored: int
) -> None:
    assert (minor_units(currency), stored_places(currency)) == (units, stored)


@pytest.mark.parametrize(
    ("value", "currency", "amount"),
    [
        ("1200", "JPY", Decimal("1200.00")),
        ("12.5", "EUR", Decimal("12.50")),
        ("12.34", "EUR", Decimal("12.34")),
        ("1.25", "BHD", Decimal("1.25")),
        ("1.250", "BHD", Decimal("1.25")),
    ],
)
def test_an_amount_within_the_currencys_precision_is_taken(
    value: str, currency: str, amount: Decimal
) -> None:
    assert to_amount(value, currency) == amount
    assert str(to_amount(value, currency)) == str(amount)  # two places, as the columns


@pytest.mark.parametrize(
    ("value", "currency", "message"),
    [
        ("1200.5", "JPY", "JPY amounts have 0 decimal places at most."),
        ("12.345", "EUR", "EUR amounts have 2 decimal places at most."),
        (
            "1.234",
            "BHD",
            "BHD has 3 decimal places, but amounts are kept to 2 here: "
            "give the amount to 2 decimal places at most.",
        ),
    ],
)
def test_too_many_decimals_are_refused_never_rounded(
    value: str, currency: str, message: str
) -> None:
    with pytest.raises(MoneyError) as refused:
        to_amount(value, currency)

    assert str(refused.value) == message


def test_computed_amounts_round_to_the_currencys_units_half_to_even() -> None:
    assert round_amount(Decimal("1000.5"), "JPY") == Decimal("1000")
    assert round_amount(Decimal("1001.5"), "JPY") == Decimal("1002")
    assert round_amount(Decimal("10.125"), "EUR") == Decimal("10.12")
    assert round_amount(Decimal("1.2345"), "BHD") == Decimal("1.23")
    assert percent_of(Decimal("1001"), 60, "JPY") == Decimal("601.00")


def policy(**overrides: Any) -> dict[str, Any]:
    return {
        "per_incident_limit": "80",
        "per_period_limit": "300",
        "period": "week",
        "per_customer_limit": "120",
        "allowed_kinds": ["refund"],
        "currency": "EUR",
        **overrides,
    }


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("currency", "limit", "words"),
    [
        ("JPY", "80.5", "JPY amounts have 0 decimal places"),
        ("EUR", "80.505", "EUR amounts have 2 decimal places"),
        ("BHD", "80.505", "BHD has 3 decimal places, but amounts are kept to 2 here"),
    ],
)
def test_the_services_say_which_precision_refused_an_amount(
    agent: User, supervisor: User, currency: str, limit: str, words: str
) -> None:
    with pytest.raises(RuleViolation) as refused:
        authority_policy_set(
            user=agent, actor=supervisor, values=policy(currency=currency, per_incident_limit=limit)
        )

    assert words in refused.value.extra["errors"]["per_incident_limit"][0]
    assert not AuthorityPolicy.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(("currency", "limit"), [("JPY", "80"), ("EUR", "80.50"), ("BHD", "80.25")])
def test_an_amount_in_its_currencys_precision_is_stored(
    agent: User, supervisor: User, currency: str, limit: str
) -> None:
    authority_policy_set(
        user=agent, actor=supervisor, values=policy(currency=currency, per_incident_limit=limit)
    )

    assert AuthorityPolicy.objects.get(user=agent).per_incident_limit == Decimal(limit)
