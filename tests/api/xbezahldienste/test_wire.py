"""Amounts are exact: any decimal with at most two places is whole cents, a third is refused."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rathauskasse.api.xbezahldienste import wire

CENTS = st.integers(min_value=0, max_value=99_999_900)  # grosAmount ≤ 999999


@given(CENTS, st.integers(min_value=0, max_value=3))
def test_two_places_round_trip_to_cents_exactly(cents: int, extra_zeros: int) -> None:
    text = f"{cents // 100}.{cents % 100:02d}" + "0" * extra_zeros
    parsed = wire.loads(json.dumps({"a": 0}).replace("0", text).encode())["a"]
    assert isinstance(parsed, Decimal)
    assert wire.to_cents(parsed) == cents
    assert wire.dumps({"a": parsed}) == '{"a":' + text + "}"  # written back as it came


@given(CENTS, st.integers(min_value=1, max_value=9))
def test_a_third_place_is_refused(cents: int, third: int) -> None:
    value = Decimal(f"{cents // 100}.{cents % 100:02d}{third}")
    with pytest.raises(wire.NotCents):
        wire.to_cents(value)


@pytest.mark.parametrize(
    "value",
    [
        Decimal("-0.01"),
        Decimal("1000000"),
        Decimal("1E+999999"),
        Decimal("1E-999999"),
        Decimal("1.00000000000000000000000000000001"),  # would round to 1.00 in 28 digits
        Decimal("NaN"),
        Decimal("Infinity"),
        True,
        "1.00",
    ],
)
def test_what_is_not_whole_cents(value: object) -> None:
    with pytest.raises(wire.NotCents):
        wire.to_cents(value)  # type: ignore[arg-type]


def test_integers_and_exponents() -> None:
    assert wire.to_cents(12) == 1200
    assert wire.to_cents(Decimal("1.5E+2")) == 15000
    assert wire.to_cents(Decimal("0E-10")) == 0
    assert wire.to_cents(Decimal("999999.00")) == 99_999_900
    with pytest.raises(wire.NotCents):
        wire.to_cents(Decimal("999999.01"))
