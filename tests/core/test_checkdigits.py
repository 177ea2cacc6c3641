"""Check-digit algorithms: known vectors, refusals, the registry, and the errors each detects."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rathauskasse.core import checkdigits
from rathauskasse.core.checkdigits import Algorithm, luhn, mod11, weighted_2n

digit_strings = st.text(alphabet="0123456789", min_size=1, max_size=30)


# --- Luhn -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "check"),
    [
        ("7992739871", "3"),  # the textbook example
        ("411111111111111", "1"),  # Visa test card 4111 1111 1111 1111
        ("401288888888188", "1"),  # Visa test card 4012 8888 8888 1881
        ("555555555555444", "4"),  # Mastercard test card 5555 5555 5555 4444
        ("37828224631000", "5"),  # American Express test card 3782 822463 10005
        ("601111111111111", "7"),  # Discover test card 6011 1111 1111 1117
        ("1", "8"),  # 1 doubled is 2; 10 - 2 = 8
        ("0", "0"),
        ("00000", "0"),
    ],
)
def test_luhn_known_vectors(body: str, check: str) -> None:
    assert luhn(body) == check


def test_luhn_doubles_the_rightmost_body_digit_and_sums_digits_of_products() -> None:
    # "9": 9 doubled is 18, digit sum 9, check 1. "59": 9 → 9, 5 stays 5; sum 14, check 6.
    assert luhn("9") == "1"
    assert luhn("59") == "6"
    # Leading zeros do not change a Luhn check digit.
    assert luhn("0007992739871") == luhn("7992739871")


# --- Mod 11 -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "check"),
    [
        # "1": S = 1·2 = 2; 11 - 2 = 9.
        ("1", "9"),
        # "1234567": from the right 7·2 + 6·3 + 5·4 + 4·5 + 3·6 + 2·7 + 1·2 (weights wrap to 2)
        #   = 14 + 18 + 20 + 20 + 18 + 14 + 2 = 106; 106 mod 11 = 7; 11 - 7 = 4.
        ("1234567", "4"),
        # "6": S = 12; 12 mod 11 = 1; 11 - 1 = 10, which is forced to 0.
        ("6", "0"),
        # "14": S = 4·2 + 1·3 = 11; 11 mod 11 = 0; 11 - 0 = 11, which is 0.
        ("14", "0"),
        # "123456": 6·2 + 5·3 + 4·4 + 3·5 + 2·6 + 1·7 = 77 = 7·11, so 0 as well.
        ("123456", "0"),
        # "21": 1·2 + 2·3 = 8; 11 - 8 = 3.
        ("21", "3"),
        ("0", "0"),
    ],
)
def test_mod11_known_vectors(body: str, check: str) -> None:
    assert mod11(body) == check


# --- weighted 2^n -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "check"),
    [
        # The three vectors of the specification.
        ("12345678901", "9"),
        ("00000000001", "8"),
        ("51254000100", "1"),
    ],
)
def test_weighted_2n_specification_vectors(body: str, check: str) -> None:
    assert weighted_2n(body) == check


def test_weighted_2n_counts_a_nonzero_multiple_of_nine_as_nine() -> None:
    # "9": 9·2 = 18 ≡ 0 (mod 9), but counts as 9; check = 10 - 9 = 1.
    # If it counted as 0 the check would be 0.
    assert weighted_2n("9") == "1"
    # "90": 0 at weight 2, 9·4 = 36 → 9; check 1.
    assert weighted_2n("90") == "1"
    # "0": nothing counts; check 0.
    assert weighted_2n("0") == "0"


def test_weighted_2n_weights_cycle_after_six_positions() -> None:
    # A 1 at position 7 from the right has weight 2^7 → 2 again, same as position 1.
    assert weighted_2n("1000000") == weighted_2n("1") == "8"
    # Position 2 has weight 4: check 10 - 4 = 6; position 4 has weight 7: check 3.
    assert weighted_2n("10") == "6"
    assert weighted_2n("1000") == "3"


# --- none -------------------------------------------------------------------------------------


def test_none_gives_an_empty_check_but_still_checks_the_input() -> None:
    none = checkdigits.get(checkdigits.NONE)
    assert none.compute("12345") == ""
    assert none.width == 0
    with pytest.raises(ValueError, match="digits only"):
        none.compute("12a45")


# --- refusals ---------------------------------------------------------------------------------


@pytest.mark.parametrize("identifier", ["luhn", "mod11", "weighted2n", "none"])
@pytest.mark.parametrize(
    "number",
    [
        "",  # nothing at all
        "12a4",
        "12 34",
        "-123",
        "1.5",
        "\u0661\u0662\u0663",  # Arabic-Indic digits: str.isdigit() but not ASCII
        "\uff11\uff12",  # full-width digits
        "\u00b2",  # superscript two
    ],
)
def test_non_digit_input_raises_value_error(identifier: str, number: str) -> None:
    with pytest.raises(ValueError, match="digits only"):
        checkdigits.get(identifier).compute(number)


# --- registry ---------------------------------------------------------------------------------


def test_registry_lists_all_four_algorithms_with_labels() -> None:
    choices = dict(checkdigits.choices())
    assert set(choices) == {"luhn", "mod11", "weighted2n", "none"}
    assert all(label.strip() for label in choices.values())
    assert choices["none"] == "ohne Prüfziffer"


def test_registry_get_returns_the_named_algorithm() -> None:
    assert checkdigits.get("luhn").compute is luhn
    assert checkdigits.get("mod11").compute is mod11
    assert checkdigits.get("weighted2n").compute is weighted_2n
    assert [checkdigits.get(i).width for i in ("luhn", "mod11", "weighted2n")] == [1, 1, 1]


@pytest.mark.parametrize("identifier", ["unknown", "", "LUHN", "mod 11"])
def test_registry_get_unknown_raises_lookup_error(identifier: str) -> None:
    with pytest.raises(LookupError, match="unknown check-digit algorithm"):
        checkdigits.get(identifier)


def test_register_adds_a_new_algorithm(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(checkdigits, "_registry", dict(checkdigits._registry))
    checkdigits.register(Algorithm("seven", "Immer sieben", lambda _number: "7"))
    assert checkdigits.get("seven").compute("123") == "7"
    assert ("seven", "Immer sieben") in checkdigits.choices()
    assert len(checkdigits.choices()) == 5


# --- properties -------------------------------------------------------------------------------


@given(digit_strings)
def test_every_algorithm_returns_one_digit_or_none_returns_nothing(number: str) -> None:
    for identifier in ("luhn", "mod11", "weighted2n"):
        check = checkdigits.get(identifier).compute(number)
        assert len(check) == 1
        assert check in "0123456789"
    assert checkdigits.get("none").compute(number) == ""


@st.composite
def single_digit_changes(draw: st.DrawFn) -> tuple[str, str]:
    number = draw(digit_strings)
    position = draw(st.integers(min_value=0, max_value=len(number) - 1))
    replacement = draw(st.sampled_from([d for d in "0123456789" if d != number[position]]))
    return number, number[:position] + replacement + number[position + 1 :]


@given(single_digit_changes())
def test_luhn_detects_every_single_digit_change(change: tuple[str, str]) -> None:
    # Doubling with digit sum maps 0..9 onto 0,2,4,6,8,1,3,5,7,9: a permutation, so a changed
    # digit changes the sum by 1..9 in either direction, never by a multiple of 10.
    original, changed = change
    assert luhn(original) != luhn(changed)


@given(single_digit_changes())
def test_weighted_2n_detects_every_single_digit_change(change: tuple[str, str]) -> None:
    # Every weight (2, 4, 8, 7, 5, 1) is a unit mod 9, so d ↦ d·w mod 9 permutes 1..8; 9 maps to 9
    # (the "nonzero multiple of nine counts as 9" rule) and 0 to 0. Each position therefore maps
    # the ten digits onto ten distinct values 0..9, and a single change moves the sum by 1..9.
    original, changed = change
    assert weighted_2n(original) != weighted_2n(changed)


@given(single_digit_changes())
def test_mod11_detects_single_digit_changes_except_where_10_is_forced_to_0(
    change: tuple[str, str],
) -> None:
    # Weights 2..7 are units mod 11, so the sum mod 11 always changes; the raw checks 10 and 0
    # both print as "0", so only that pair can collide.
    original, changed = change
    before, after = mod11(original), mod11(changed)
    assert before != after or before == after == "0"


@given(digit_strings)
def test_luhn_number_with_its_check_digit_sums_to_zero_mod_10(number: str) -> None:
    # The verifier's reading: over body + check, every second digit from the right (starting
    # with the second) is doubled, and the digit sum is a multiple of 10.
    full = number + luhn(number)
    total = 0
    for position, digit in enumerate(reversed([int(c) for c in full])):
        value = digit * 2 if position % 2 == 1 else digit
        total += value - 9 if value > 9 else value
    assert total % 10 == 0


@given(digit_strings)
def test_mod11_check_makes_the_weighted_sum_zero_mod_11_unless_forced(number: str) -> None:
    # With the check digit at weight 1 the whole sum is 0 mod 11, except when the raw check is
    # 10 (forced to 0), where it is 1 mod 11.
    weights = (2, 3, 4, 5, 6, 7)
    body_sum = sum(int(d) * weights[i % 6] for i, d in enumerate(reversed(number)))
    check = int(mod11(number))
    assert (body_sum + check) % 11 in ((0,) if body_sum % 11 != 1 else (1,))
