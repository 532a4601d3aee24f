"""core.serializers.represented: what a serializer's ``.data`` gives, from
fields built once a process and shared by threads."""

import threading
from datetime import UTC, datetime
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from rest_framework import serializers

from core.money import CURRENCIES
from core.serializers import CurrencyField, represented


class Part(serializers.Serializer):
    name = serializers.CharField()


class Order(serializers.Serializer):
    id = serializers.IntegerField()
    total = serializers.DecimalField(max_digits=8, decimal_places=2)
    placed_at = serializers.DateTimeField()
    part = Part(allow_null=True)
    shout = serializers.SerializerMethodField()

    def get_shout(self, order: Any) -> str:
        return f"{order.part.name.upper()}!" if order.part else ""


def order(n: int, *, part: bool = True) -> SimpleNamespace:
    return SimpleNamespace(
        id=n,
        total=Decimal(n) / 4,
        placed_at=datetime(2026, 12, 6, 9, n % 60, tzinfo=UTC),
        part=SimpleNamespace(name=f"part {n}") if part else None,
    )


@pytest.mark.parametrize("part", [True, False])
def test_it_gives_what_the_serializers_data_gives(part: bool) -> None:
    one = order(7, part=part)
    assert represented(Order, one) == dict(Order(one).data)
    assert represented(Order, one)["total"] == "1.75"


def test_the_fields_are_built_once(monkeypatch: pytest.MonkeyPatch) -> None:
    class Counted(Order):
        pass

    built = []
    original = Counted.get_fields

    def get_fields(self: Counted) -> Any:
        built.append(self)
        return original(self)

    monkeypatch.setattr(Counted, "get_fields", get_fields)
    rendered = [represented(Counted, order(n)) for n in range(5)]

    assert len(built) == 1
    assert [r["id"] for r in rendered] == list(range(5))


def test_threads_rendering_at_once_each_get_their_own_object() -> None:
    class Shared(Order):
        pass

    barrier = threading.Barrier(8)
    wrong: list[tuple[int, dict[str, Any]]] = []
    failed: list[BaseException] = []
    rendered: list[int] = []

    def render(n: int) -> None:
        try:
            barrier.wait(timeout=10)
            for _ in range(200):
                mine = order(n)
                got = represented(Shared, mine)
                if got != dict(Order(mine).data):
                    wrong.append((n, got))
                rendered.append(n)
        except BaseException as error:  # noqa: BLE001 (asserted below, never lost)
            failed.append(error)

    threads = [threading.Thread(target=render, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert not any(thread.is_alive() for thread in threads)
    assert failed == []
    assert len(rendered) == 8 * 200
    assert wrong == []


def test_a_currency_field_takes_every_currency_in_use_and_nothing_else() -> None:
    first, second = CurrencyField(), CurrencyField(required=False)

    assert [first.run_validation(code) for code in sorted(CURRENCIES)] == sorted(CURRENCIES)
    assert list(second.choices) == sorted(CURRENCIES)
    for wrong in ("eur", "XXX", "", 978):
        with pytest.raises(serializers.ValidationError, match="not an ISO 4217 currency code"):
            second.run_validation(wrong)
    # Given other choices, it is DRF's choice field over them.
    narrowed = CurrencyField()
    narrowed.choices = ["EUR"]
    assert narrowed.run_validation("EUR") == "EUR"
    with pytest.raises(serializers.ValidationError):
        narrowed.run_validation("USD")
