"""ISO 11649 creditor references: known vectors and a property over generated ones."""

from __future__ import annotations

import string

from hypothesis import given
from hypothesis import strategies as st

from rathauskasse.core import iso11649

BODY = st.text(alphabet=string.digits + string.ascii_uppercase, min_size=1, max_size=21)


def test_known_references() -> None:
    assert iso11649.creditor_reference("539007547034") == "RF18539007547034"
    assert iso11649.is_valid("RF18539007547034")
    assert iso11649.is_valid("RF18 5390 0754 7034")  # as printed, in groups of four
    assert iso11649.creditor_reference("G72UUR") == "RF45G72UUR"
    assert iso11649.creditor_reference("g72-uur") == "RF45G72UUR"  # as typed
    assert iso11649.display("RF18539007547034") == "RF18 5390 0754 7034"


def test_the_found_letter_digit_case_is_what_mod_97_allows() -> None:
    assert iso11649.is_valid("RF43A3267CCQN")
    assert iso11649.is_valid("RF43A3267CCQ1")


def test_malformed_references_are_invalid() -> None:
    for text in ("RF18539007547035", "RF1853900754703X!", "RX18539007547034", "RF", "RF18", ""):
        assert not iso11649.is_valid(text)
    assert not iso11649.is_valid("RF" + "1" * 24)  # 22 characters after the check digits


@given(BODY)
def test_every_generated_reference_validates(body: str) -> None:
    reference = iso11649.creditor_reference(body)
    assert reference.startswith("RF")
    assert len(reference) <= 25
    assert iso11649.is_valid(reference)


@given(BODY, st.data())
def test_changing_one_character_breaks_it(body: str, data: st.DataObject) -> None:
    """A digit typed as another digit, or a letter as another letter, is always caught.

    MOD 97-10 reads a letter as two digits, so a letter typed as a digit shifts everything after
    it and is caught only most of the time (hypothesis found RF43A3267CCQN, valid as
    RF43A3267CCQ1 too). The references we make hold Kassenzeichen, which are digits.
    """
    reference = iso11649.creditor_reference(body)
    index = data.draw(st.integers(min_value=2, max_value=len(reference) - 1))
    alphabet = string.digits if reference[index].isdigit() else string.ascii_uppercase
    other = data.draw(st.sampled_from([c for c in alphabet if c != reference[index]]))
    changed = reference[:index] + other + reference[index + 1 :]
    assert not iso11649.is_valid(changed)
