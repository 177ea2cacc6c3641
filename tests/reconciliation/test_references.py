"""Reading Kassenzeichen out of statement lines: tolerances, confusions, false-positive guards."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rathauskasse.core import iso11649
from rathauskasse.receivables.kassenzeichen import InvalidKassenzeichen, Scheme
from rathauskasse.reconciliation.references import (
    How,
    Source,
    candidates,
    lookup_keys,
    payout_references,
    read,
    readings,
)
from tests.reconciliation.matching_support import PLAIN, PREFIXED, kz, line

KZ = kz(123)  # 51260001238
OTHER = kz(456)  # 51260004562


def only(text: str, scheme: Scheme = PREFIXED, **kwargs: object) -> tuple[str, How, bool]:
    found = read(text, scheme, **kwargs)  # type: ignore[arg-type]
    assert len(found) == 1, found
    return found[0].kassenzeichen, found[0].how, found[0].introduced


# --- as written, and what people do to it -----------------------------------------------------


@pytest.mark.parametrize(
    ("text", "how", "introduced"),
    [
        (f"{KZ} Hundesteuer 2026", How.EXACT, False),
        (f"Hundesteuer {KZ}", How.EXACT, False),
        (f"KZ {KZ}", How.EXACT, True),
        (f"KZ{KZ}", How.EXACT, True),
        (f"kz:{KZ}", How.EXACT, True),
        (f"KZ-Nr. {KZ}", How.EXACT, True),
        (f"Kassenzeichen {KZ} Gebühr", How.EXACT, True),
        (f"Kassenzeichen: {KZ}", How.EXACT, True),
        (f"Kassenzeichen-Nr.: {KZ}", How.EXACT, True),
        (f"KASSENZEICHEN NR {KZ}", How.EXACT, True),
        (f"Kassenz. {KZ}", How.EXACT, True),
        (f"Kassenzeichennummer {KZ}", How.EXACT, True),
        (f"(KZ {KZ})", How.EXACT, True),
        (f"Hotel {KZ}", How.EXACT, False),  # "tel" ends a word here: no telephone number
        (f"Kfz {KZ}", How.EXACT, False),
        (f"Steuer-KZ: {KZ}", How.EXACT, True),
        ("KZ 51-26-000123-8", How.NORMALISED, True),
        ("51 26 000123 8 Grundsteuer", How.NORMALISED, False),
        ("5126 0001 238", How.NORMALISED, False),
        ("51.26.000123.8", How.NORMALISED, False),
        ("51/26/000123/8", How.NORMALISED, False),
        ("51 - 26 - 000123 - 8", How.NORMALISED, False),
        ("Gebuehr 5126000\n1238 danke", How.NORMALISED, False),  # line break inside
        ("KZ 512600-\n01238", How.NORMALISED, True),  # hyphenated over two lines
        (f"KZ 00{KZ}", How.NORMALISED, True),  # extra leading zeros
        (f"0{KZ}", How.NORMALISED, False),
    ],
)
def test_reads_the_kassenzeichen_however_it_is_written(
    text: str, how: How, introduced: bool
) -> None:
    assert only(text) == (KZ, how, introduced)


def test_the_reading_keeps_what_was_written_for_the_reason() -> None:
    (reading,) = read("Kassenzeichen 51-26-000123-8", PREFIXED)
    assert reading.text == "51-26-000123-8"
    assert reading.describe() == (
        "Kassenzeichen 51260001238 im Verwendungszweck gefunden (geschrieben „51-26-000123-8“)"
    )


def test_missing_leading_zeros_are_filled_only_after_the_keyword() -> None:
    # No year, six digits, Luhn: the first receivable is 0000018.
    scheme = Scheme(prefix="", year_digits=0, number_digits=6, algorithm="luhn")
    first = scheme.build(year=2026, number=1)
    assert first == "0000018"
    assert only("Kassenzeichen 18", scheme) == (first, How.NORMALISED, True)
    assert only("KZ 00018", scheme) == (first, How.NORMALISED, True)
    # Bare, "18" is anything: a house number, an age, a day.
    assert read("Zimmer 18", scheme) == ()
    assert read("Hausnummer 18 danke", scheme) == ()


def test_a_whole_structured_field_counts_as_introduced_and_may_lack_zeros() -> None:
    scheme = Scheme(prefix="", year_digits=0, number_digits=6, algorithm="luhn")
    found = readings(line(structured_reference="18"), scheme)
    assert [(r.kassenzeichen, r.source, r.introduced) for r in found] == [
        ("0000018", Source.STRUCTURED, True)
    ]
    (e2e,) = readings(line(end_to_end_id=f"{KZ}"), PREFIXED)
    assert (e2e.source, e2e.introduced) == (Source.END_TO_END, True)
    (kref,) = readings(line(customer_reference=f"KZ {KZ}"), PREFIXED)
    assert (kref.source, kref.introduced) == (Source.CUSTOMER, True)
    # Part of a longer end-to-end id: read, but bare.
    (part,) = readings(line(end_to_end_id=f"RK-{KZ}-1"), PREFIXED)
    assert not part.introduced


def test_notprovided_and_empty_fields_are_skipped() -> None:
    assert readings(line(end_to_end_id="NOTPROVIDED"), PREFIXED) == ()
    assert readings(line(), PREFIXED) == ()


def test_a_list_after_the_keyword_is_introduced_throughout() -> None:
    third = kz(789, year=2025)
    found = read(f"Kassenzeichen {KZ}, {OTHER} und {third}", PREFIXED)
    assert [(r.kassenzeichen, r.introduced) for r in found] == [
        (KZ, True),
        (OTHER, True),
        (third, True),
    ]
    found = read(f"KZ {KZ} / {OTHER}", PREFIXED)
    assert [(r.kassenzeichen, r.introduced) for r in found] == [(KZ, True), (OTHER, True)]
    # A number after other words is not part of the list.
    found = read(f"KZ {KZ} Rechnung {OTHER}", PREFIXED)
    assert [(r.kassenzeichen, r.introduced) for r in found] == [(KZ, True), (OTHER, False)]


def test_each_kassenzeichen_once_with_its_best_reading_in_text_order() -> None:
    found = readings(
        line(text=f"{OTHER} und 51-26-000123-8", structured_reference=f"KZ {KZ}"), PREFIXED
    )
    assert [(r.kassenzeichen, r.source, r.how) for r in found] == [
        (OTHER, Source.REMITTANCE, How.EXACT),
        (KZ, Source.STRUCTURED, How.EXACT),  # introduced beats bare, exact beats normalised
    ]
    assert candidates(line(text=f"{OTHER} {KZ}"), PREFIXED) == (OTHER, KZ)


# --- RF creditor references -------------------------------------------------------------------


def test_an_rf_reference_is_decoded_back_to_its_kassenzeichen() -> None:
    reference = iso11649.creditor_reference(KZ)  # what the GiroCode carries
    assert reference == "RF7451260001238"
    (found,) = readings(line(structured_reference=reference), PREFIXED)
    assert (found.kassenzeichen, found.rf, found.introduced, found.how) == (
        KZ,
        True,
        True,
        How.EXACT,
    )
    assert found.describe() == "Kassenzeichen 51260001238 in der RF-Referenz gefunden"
    # As the bank app shows it, in groups of four, inside the remittance text.
    (in_text,) = read(f"{iso11649.display(reference)} Grundsteuer B", PREFIXED)
    assert (in_text.kassenzeichen, in_text.rf) == (KZ, True)


def test_an_rf_reference_with_wrong_check_digits_is_no_rf_reading() -> None:
    # RF00...: the bank would have refused it; the digits are read as plain text, bare.
    found = read(f"RF00 {KZ}", PREFIXED)
    assert [(r.kassenzeichen, r.rf, r.introduced) for r in found] == [(KZ, False, False)]
    # A valid RF reference whose body is not a Kassenzeichen of the scheme gives nothing.
    assert read(iso11649.creditor_reference("539007547034"), PREFIXED) == ()


# --- confusions -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "corrections"),
    [
        ("5126OOO1238", ("O→0",)),
        ("5126ooo1238", ("o→0",)),
        ("5I260001238", ("I→1",)),
        ("5l260001238", ("l→1",)),
        ("S1260001238", ("S→5",)),
        ("5126000123B", ("B→8",)),
        ("S1260O0l238", ("O→0", "S→5", "l→1")),
    ],
)
def test_confusions_are_corrected_when_the_check_digit_confirms(
    written: str, corrections: tuple[str, ...]
) -> None:
    (found,) = read(f"KZ {written}", PREFIXED)
    assert (found.kassenzeichen, found.how, found.corrections) == (KZ, How.CORRECTED, corrections)
    assert f"gelesen mit {', '.join(corrections)} aus „{written}“" in found.describe()


def test_no_correction_that_the_check_digit_does_not_confirm() -> None:
    assert read("KZ 5126OOO1239", PREFIXED) == ()  # wrong check digit after correcting
    assert read("KZ 5126OOOl23B", PREFIXED) == ()


def test_no_more_than_three_letters_are_corrected() -> None:
    assert read("KZ SI26OOOl238", PREFIXED) == ()


def test_no_corrections_without_a_check_digit() -> None:
    scheme = Scheme(prefix="51", year_digits=2, number_digits=7, algorithm="none")
    number = scheme.build(year=2026, number=123)
    assert read(f"KZ {number}", scheme)[0].kassenzeichen == number
    assert read(f"KZ {number.replace('0', 'O')}", scheme) == ()


def test_competing_corrected_readings_of_one_run_count_for_nothing() -> None:
    # One run of two groups, each a valid Kassenzeichen only once its O are read as 0: the
    # check digit would be choosing between two corrected readings, so neither counts.
    scheme = Scheme(prefix="", year_digits=0, number_digits=3, algorithm="luhn")
    # Four-digit Kassenzeichen: body of three digits plus Luhn.
    first, second = scheme.build(year=2026, number=1), scheme.build(year=2026, number=2)
    text = f"{first.replace('0', 'O')} {second.replace('0', 'O')}"
    assert read(f"{first.replace('0', 'O')}", scheme)[0].kassenzeichen == first
    assert read(text, scheme) == ()
    # Written with digits, both are plain readings and both count.
    assert {r.kassenzeichen for r in read(f"{first} {second}", scheme)} == {first, second}


# --- false positives --------------------------------------------------------------------------


def _iban(country: str, bban: str) -> str:
    digits = "".join(str(int(c, 36)) for c in bban + country + "00")
    return f"{country}{98 - int(digits) % 97:02d}{bban}"


def test_an_iban_in_the_text_yields_no_kassenzeichen() -> None:
    # The account number ends in the Kassenzeichen: read as groups, the IBAN's last groups
    # would be 0005 1260 0012 38 = 000 + 51260001238.
    iban = _iban("DE", "0000000" + KZ)
    assert len(iban) == 22
    grouped = " ".join(iban[i : i + 4] for i in range(0, 22, 4))
    assert read(f"IBAN {grouped} danke", PREFIXED) == ()
    assert read(f"IBAN: {iban}", PREFIXED) == ()
    # The same digits without the IBAN's letters and check digits are read (so the guard is
    # what keeps the IBAN out).
    assert read("0005 1260 0012 38", PREFIXED)[0].kassenzeichen == KZ
    # Not an IBAN after all (wrong check digits): the numbers after it are still read.
    assert read(f"XX00 1234 5678 9012 {KZ}", PREFIXED)[0].kassenzeichen == KZ


def test_dates_yield_no_kassenzeichen() -> None:
    # Eight digits: two for the year, five running, one Luhn. Find a date whose digits pass.
    scheme = Scheme(prefix="", year_digits=2, number_digits=5, algorithm="luhn")
    day = next(
        f"{d:02d}{m:02d}2026"
        for m in range(1, 13)
        for d in range(1, 29)
        if read(f"{d:02d}{m:02d}2026", scheme)
    )
    assert read(day, scheme)  # eight bare digits are a Kassenzeichen here
    assert read(f"Bescheid vom {day[:2]}.{day[2:4]}.{day[4:]}", scheme) == ()
    assert read(f"am {day[4:]}-{day[2:4]}-{day[:2]}", scheme) == ()


def test_telephone_numbers_yield_no_kassenzeichen() -> None:
    assert read("Tel. 05126 0001238", PREFIXED) == ()
    assert read("Rückfragen unter Telefon: 0 5126 0001 238", PREFIXED) == ()
    assert read("Rueckruf +49 5126 0001238", PREFIXED) == ()
    assert read("Fax 051260001238", PREFIXED) == ()
    # Without the telephone's mark the same digits are a Kassenzeichen with a leading zero.
    assert read("05126 0001238", PREFIXED)[0].kassenzeichen == KZ


def test_numbers_glued_to_letters_or_inside_longer_numbers_are_not_read() -> None:
    assert read(f"Rg{KZ}", PREFIXED) == ()
    assert read(f"{KZ}EUR", PREFIXED) == ()
    assert read(f"Kunde 7{KZ}", PREFIXED) == ()  # a longer number is another number
    assert read(f"{KZ}4", PREFIXED) == ()
    assert read(f"{KZ[:6]}X{KZ[6:]}", PREFIXED) == ()


def test_prefix_number_zero_and_year_are_checked() -> None:
    assert read("41260001236", PREFIXED) == ()  # other prefix (Luhn fits)
    zero = "5126000000"
    assert read(zero + PREFIXED.build(year=2026, number=1)[-1], PREFIXED) == ()
    old = kz(123, year=2019)
    assert read(old, PREFIXED)[0].kassenzeichen == old
    assert read(old, PREFIXED, years={"25", "26"}) == ()
    assert read(KZ, PREFIXED, years={"25", "26"})[0].kassenzeichen == KZ


def test_amounts_and_short_numbers_around_the_kassenzeichen_do_not_disturb() -> None:
    found = read(f"Hundesteuer 2026 KZ {KZ} 45,00 EUR Rate 1 von 3", PREFIXED)
    assert [r.kassenzeichen for r in found] == [KZ]


# --- twins ------------------------------------------------------------------------------------


def test_a_reading_names_its_twins_that_the_check_digit_cannot_tell_apart() -> None:
    number = kz(99)  # 51260000990: Luhn cannot see 9 and 0 swapped
    (found,) = read(number, PREFIXED)
    assert found.twins == ("51260009090", "51260000909")
    assert all(PREFIXED.validate(t) == t for t in found.twins)
    assert lookup_keys([found]) == {number, *found.twins}
    assert read(KZ, PREFIXED)[0].twins == ()


def _valid(scheme: Scheme, value: str) -> bool:
    try:
        return scheme.validate(value) == value
    except InvalidKassenzeichen:
        return False


def _one_typo_away(value: str) -> set[str]:
    out = {value[:i] + d + value[i + 1 :] for i in range(len(value)) for d in "0123456789"}
    out |= {value[:i] + value[i + 1] + value[i] + value[i + 2 :] for i in range(len(value) - 1)}
    return out - {value}


@pytest.mark.parametrize("algorithm", ["luhn", "mod11", "weighted2n"])
def test_twins_are_every_valid_kassenzeichen_one_undetected_typo_away(algorithm: str) -> None:
    scheme = Scheme(prefix="", year_digits=2, number_digits=4, algorithm=algorithm)
    for number in range(1, 10_000, 97):
        value = scheme.build(year=2026, number=number)
        (found,) = read(value, scheme)
        expected = {other for other in _one_typo_away(value) if _valid(scheme, other)}
        assert set(found.twins) == expected, value
    # Luhn and 2^n catch every wrong digit; mod 11 does not where the check is 0.
    mod11 = Scheme(prefix="", year_digits=2, number_digits=4, algorithm="mod11")
    zero = next(v for n in range(1, 999) if (v := mod11.build(year=2026, number=n)).endswith("0"))
    assert any(sorted(t) != sorted(zero) for t in read(zero, mod11)[0].twins)


# --- payouts ----------------------------------------------------------------------------------


def test_payout_references_default_and_configurable() -> None:
    payout = line(text="Auszahlung PAYOUT-2026-03-12-0001 Sandbox", additional_info="PAYOUT-X1")
    assert payout_references(payout) == ("PAYOUT-2026-03-12-0001", "PAYOUT-X1")
    assert payout_references(line(text="KZ 123 XPAYOUT-1")) == ()
    stripe = re.compile(r"STRIPE (?P<ref>po_[A-Za-z0-9]+)")
    assert payout_references(line(text="STRIPE po_1Mx9 STRIPE po_1Mx9"), stripe) == ("po_1Mx9",)


# --- properties -------------------------------------------------------------------------------

separators = st.sampled_from([" ", "-", ".", "/", "\n", " - ", ""])


@given(
    number=st.integers(min_value=1, max_value=999_999),
    year=st.integers(min_value=2020, max_value=2030),
    cuts=st.lists(st.integers(min_value=1, max_value=10), max_size=3, unique=True),
    sep=separators,
    zeros=st.integers(min_value=0, max_value=2),
    keyword=st.sampled_from(["", "KZ ", "Kassenzeichen: ", "KZ"]),
    before=st.sampled_from(["", "Grundsteuer ", "Rate 1 ", "Hund 2026 "]),
    after=st.sampled_from(["", " danke", " 45,00 EUR", "\nMueller"]),
)
def test_any_written_form_of_a_valid_kassenzeichen_is_read_back(
    number: int,
    year: int,
    cuts: list[int],
    sep: str,
    zeros: int,
    keyword: str,
    before: str,
    after: str,
) -> None:
    value = PREFIXED.build(year=year, number=number)
    written, last = "", 0
    for cut in sorted(cuts):
        written += value[last:cut] + sep
        last = cut
    written = "0" * zeros + written + value[last:]
    found = read(before + keyword + written + after, PREFIXED)
    assert value in [r.kassenzeichen for r in found]


@settings(max_examples=300)
@given(st.text(alphabet=st.sampled_from("0123456789 -./\nKZOIlSBRFDE+Tel:,"), max_size=80))
def test_whatever_the_text_every_reading_is_a_valid_kassenzeichen(text: str) -> None:
    for scheme in (PREFIXED, PLAIN):
        for found in read(text, scheme):
            assert scheme.validate(found.kassenzeichen) == found.kassenzeichen
            assert found.kassenzeichen not in found.twins


@given(st.text(max_size=300))
def test_arbitrary_text_never_crashes_the_reader(text: str) -> None:
    readings(line(text=text, structured_reference=text[:35], end_to_end_id=text[:35]), PREFIXED)


@given(st.text(alphabet="0123456789", min_size=1, max_size=30))
def test_the_fast_luhn_is_the_luhn_of_the_check_digit_module(body: str) -> None:
    from rathauskasse.core.checkdigits import luhn
    from rathauskasse.reconciliation.references import fast_luhn

    assert fast_luhn(body) == luhn(body)
