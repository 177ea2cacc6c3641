from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rathauskasse.core.money import InvalidAmount, Money


def test_arithmetic_and_comparison() -> None:
    assert Money(1050) + Money(250) == Money(1300)
    assert Money(1050) - Money(2000) == Money(-950)
    assert -Money(5) == Money(-5)
    assert Money(3) * 4 == Money(12) == 4 * Money(3)
    assert Money(1) < Money(2) <= Money(2)
    assert Money.sum([Money(1), Money(2), Money(3)]) == Money(6)
    assert not Money.zero()


def test_refuses_anything_but_integer_cents() -> None:
    with pytest.raises(TypeError):
        Money(1.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Money(True)


@pytest.mark.parametrize(
    ("cents", "text"),
    [
        (0, "0,00\u00a0€"),
        (5, "0,05\u00a0€"),
        (3070, "30,70\u00a0€"),
        (123456, "1.234,56\u00a0€"),
        (123456789, "1.234.567,89\u00a0€"),
        (-123456, "-1.234,56\u00a0€"),
    ],
)
def test_formats_german(cents: int, text: str) -> None:
    assert Money(cents).format_de() == text


def test_plain_format_for_payloads() -> None:
    assert Money(123456).format_plain() == "1234.56"
    assert Money(5).format_plain() == "0.05"


@pytest.mark.parametrize(
    ("text", "cents"),
    [
        ("1.234,56", 123456),
        ("1234,56", 123456),
        ("1,234.56", 123456),
        ("1234.56", 123456),
        ("12", 1200),
        ("12,5", 1250),
        ("0,05", 5),
        ("1.234", 123400),
        ("1,234,567", 123456700),
        ("1.234.567,89 €", 123456789),
        ("EUR 12.00", 1200),
        ("-3,00", -300),
        (" 30,70 € ", 3070),
        ("1 234,56", 123456),
    ],
)
def test_parses_german_and_english(text: str, cents: int) -> None:
    assert Money.parse(text) == Money(cents)


@pytest.mark.parametrize(
    "text", ["", "abc", "1,2,3", "12,345,6", "1.23.4", "1,234.5.6", "€", "1e3", "--5", "1,00,0"]
)
def test_parse_rejects_garbage_with_a_message(text: str) -> None:
    with pytest.raises(InvalidAmount) as info:
        Money.parse(text)
    assert "Betrag" in info.value.message


def test_from_decimal_refuses_fractions_of_a_cent() -> None:
    assert Money.from_decimal(Decimal("18.15")) == Money(1815)
    with pytest.raises(InvalidAmount):
        Money.from_decimal(Decimal("18.155"))


def test_split_and_allocate_add_up_exactly() -> None:
    assert Money(100).split(3) == [Money(34), Money(33), Money(33)]
    assert Money(-100).split(3) == [Money(-34), Money(-33), Money(-33)]
    assert Money(1000).allocate([1, 1, 2]) == [Money(250), Money(250), Money(500)]
    assert Money(5).allocate([0, 1]) == [Money(0), Money(5)]
    with pytest.raises(ValueError, match="weights"):
        Money(5).allocate([0, 0])


@given(
    cents=st.integers(min_value=-(10**12), max_value=10**12),
    weights=st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=30).filter(
        lambda w: sum(w) > 0
    ),
)
def test_allocation_conserves_cents(cents: int, weights: list[int]) -> None:
    parts = Money(cents).allocate(weights)
    assert sum(p.cents for p in parts) == cents
    assert len(parts) == len(weights)
    # Nobody gets more than one cent beyond their exact share.
    total = sum(weights)
    for part, weight in zip(parts, weights, strict=True):
        exact = abs(cents) * weight / total
        assert abs(abs(part.cents) - exact) < 1
        if weight == 0:
            assert part.cents == 0


@given(cents=st.integers(min_value=-(10**12), max_value=10**12))
def test_format_and_parse_round_trip(cents: int) -> None:
    assert Money.parse(Money(cents).format_de()) == Money(cents)
    assert Money.parse(Money(cents).format_plain()) == Money(cents)
