"""Money is a Decimal with its ISO 4217 currency, never a float. One rounding
rule for the whole product."""

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

from babel.core import get_global
from babel.numbers import get_currency_precision

from core.errors import RuleViolation


def _currencies_in_use() -> frozenset[str]:
    # CLDR's territory data, as shipped (and kept current) by babel: the ISO
    # 4217 codes legal tender somewhere today. Withdrawn codes (DEM), funds
    # and "no currency" (XXX, XTS) are not money a desk pays out in.
    return frozenset(
        code
        for entries in get_global("territory_currencies").values()
        for code, _start, end, tender in entries
        if tender and end is None
    )


CURRENCIES = _currencies_in_use()


def is_currency(code: object) -> bool:
    """An ISO 4217 code in use today, exactly as written (``EUR``, not ``eur``)."""
    return isinstance(code, str) and code in CURRENCIES


# Every amount column is numeric(12, 2) (recovery.models.authority.money_field),
# and the API writes amounts as "12.50". A currency with three minor units
# (BHD, KWD, OMR...) is kept to two places rather than widening every column,
# every sum and the API's format: an amount that needs its third place is
# refused with a message that says why, never rounded.
MAX_DIGITS = 12
DECIMAL_PLACES = 2


class MoneyError(ValueError):
    pass


def minor_units(currency: str) -> int:
    """The decimal places an amount in ``currency`` has: CLDR's ``digits``
    for it, as Babel ships them (kept current by its releases). That is ISO
    4217's minor unit except where CLDR records that the minor unit is not
    used in practice: JPY 0, EUR 2 and BHD 3 as in ISO, but HUF, IDR and
    COP 0 where ISO says 2, and IQD 0 where ISO says 3."""
    return int(get_currency_precision(currency))


def stored_places(currency: str) -> int:
    """The decimal places an amount in ``currency`` may have here: its
    minor units, as far as the columns hold (BHD: 2 of its 3)."""
    return min(minor_units(currency), DECIMAL_PLACES)


def to_amount(value: object, currency: str) -> Decimal:
    """Parse and check an amount: a finite decimal with no more precision than
    the currency has (and the columns hold). Bankers' rounding is never
    applied silently: 10.005 EUR is refused, not changed."""
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise MoneyError(f"{value!r} is not an amount.") from None
    if not amount.is_finite():
        raise MoneyError(f"{value!r} is not an amount.")
    places = stored_places(currency)
    if amount != amount.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN):
        if places < minor_units(currency):
            raise MoneyError(
                f"{currency} has {minor_units(currency)} decimal places, but amounts are "
                f"kept to {places} here: give the amount to {places} decimal places at most."
            )
        raise MoneyError(f"{currency} amounts have {places} decimal places at most.")
    return amount.quantize(Decimal(1).scaleb(-DECIMAL_PLACES))


def amount_for_field(value: object, currency: str, *, field: str) -> Decimal:
    """``to_amount`` for a service: an amount that is not one, or is too
    precise, is a rule broken on ``field`` (a 422 naming it in the API, the
    field's error in the console)."""
    try:
        return to_amount(value, currency)
    except MoneyError as exc:
        raise RuleViolation(str(exc), field=field) from None


def round_amount(amount: Decimal, currency: str) -> Decimal:
    """A computed amount (a share, a pro-rata budget) rounded to the
    currency's minor units (as far as the columns hold), half to even,
    written with the columns' decimal places."""
    exponent = Decimal(1).scaleb(-stored_places(currency))
    return amount.quantize(exponent, rounding=ROUND_HALF_EVEN).quantize(
        Decimal(1).scaleb(-DECIMAL_PLACES)
    )


def percent_of(amount: Decimal, percent: int, currency: str) -> Decimal:
    return round_amount(amount * percent / 100, currency)
