"""Money is a Decimal with its ISO 4217 currency, never a float. One rounding
rule for the whole product."""

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

from babel.core import get_global

# Currencies without minor units (ISO 4217 exponent 0); the rest use cents.
_NO_MINOR_UNITS = frozenset(
    {
        "BIF",
        "CLP",
        "DJF",
        "GNF",
        "ISK",
        "JPY",
        "KMF",
        "KRW",
        "PYG",
        "RWF",
        "UGX",
        "UYI",
        "VND",
        "VUV",
        "XAF",
        "XOF",
        "XPF",
    }
)


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


MAX_DIGITS = 12
DECIMAL_PLACES = 2


class MoneyError(ValueError):
    pass


def minor_units(currency: str) -> int:
    return 0 if currency in _NO_MINOR_UNITS else 2


def to_amount(value: object, currency: str) -> Decimal:
    """Parse and check an amount: a finite decimal with no more precision than
    the currency has. Bankers' rounding is never applied silently: 10.005 EUR
    is refused, not changed."""
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise MoneyError(f"{value!r} is not an amount.") from None
    if not amount.is_finite():
        raise MoneyError(f"{value!r} is not an amount.")
    exponent = Decimal(1).scaleb(-minor_units(currency))
    if amount != amount.quantize(exponent, rounding=ROUND_HALF_EVEN):
        raise MoneyError(f"{currency} amounts have {minor_units(currency)} decimal places at most.")
    return amount.quantize(Decimal("0.01"))


def round_amount(amount: Decimal, currency: str) -> Decimal:
    """A computed amount (a share, a pro-rata budget) rounded to the
    currency's minor units, half to even, stored with two decimal places."""
    exponent = Decimal(1).scaleb(-minor_units(currency))
    return amount.quantize(exponent, rounding=ROUND_HALF_EVEN).quantize(Decimal("0.01"))


def percent_of(amount: Decimal, percent: int, currency: str) -> Decimal:
    return round_amount(amount * percent / 100, currency)
