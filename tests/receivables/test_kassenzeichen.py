"""Kassenzeichen: building, reading what people type, refusing with a reason, and numbering."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction
from hypothesis import given
from hypothesis import strategies as st

from rathauskasse.core import clock
from rathauskasse.organisations.models import BudgetLine, Department, Organisation
from rathauskasse.receivables.kassenzeichen import InvalidKassenzeichen, Scheme
from rathauskasse.receivables.models import KassenzeichenCounter, Receivable
from rathauskasse.receivables.services import next_kassenzeichen
from tests import factories

SCHEME = Scheme(prefix="", year_digits=2, number_digits=6, algorithm="luhn")
PREFIXED = Scheme(prefix="51", year_digits=2, number_digits=6, algorithm="luhn")
MARCH_2026 = dt.datetime(2026, 3, 2, 10, 0)  # noqa: DTZ001 - clock.frozen reads naive as Berlin


# --- build ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scheme", "year", "number", "expected"),
    [
        # body 26000001, Luhn 3
        (SCHEME, 2026, 1, "260000013"),
        (SCHEME, 2026, 123, "260001235"),
        (PREFIXED, 2026, 123, "51260001238"),
        # body 2026000001: doubled from the right 1→2, 6→12→3; plus 2 and 2: 9; check 1
        (Scheme("", 4, 6, "luhn"), 2026, 1, "20260000011"),
        (Scheme("", 0, 6, "luhn"), 2026, 1, "0000018"),
        (Scheme("", 0, 6, "none"), 2026, 42, "000042"),
        (Scheme("7", 2, 4, "none"), 2031, 9999, "7319999"),
        # mod 11 over "26000001": from the right 1·2 + 6·2 + 2·3 = 20 (weights wrap after 7);
        # 20 mod 11 = 9; 11 - 9 = 2
        (Scheme("", 2, 6, "mod11"), 2026, 1, "260000012"),
        # weighted 2^n: the specification vector 51254000100 → 1 as prefix 51, year 25, number
        (Scheme("51", 2, 7, "weighted2n"), 2025, 4000100, "512540001001"),
        # fourteen nines: each counts 9 doubled or not (18 → 9); 126; check 4
        (Scheme("", 2, 12, "luhn"), 2099, 999_999_999_999, "9" * 14 + "4"),
    ],
)
def test_build(scheme: Scheme, year: int, number: int, expected: str) -> None:
    built = scheme.build(year=year, number=number)
    assert built == expected
    assert len(built) == scheme.length
    assert scheme.validate(built) == built


def test_length_and_example_follow_the_scheme() -> None:
    assert SCHEME.length == 9
    assert PREFIXED.length == 11
    assert Scheme("", 4, 8, "none").length == 12
    assert SCHEME.example() == "260000013"
    assert Scheme("", 4, 3, "mod11").check_width == 1
    assert Scheme("", 4, 3, "none").check_width == 0


@pytest.mark.parametrize("number", [1_000_000, 0, -1])
def test_build_refuses_numbers_outside_the_range(number: int) -> None:
    with pytest.raises(InvalidKassenzeichen, match=r"Nummernkreis für 2026 ist erschöpft \(6"):
        SCHEME.build(year=2026, number=number)


def test_last_number_of_the_range_still_builds() -> None:
    assert Scheme("", 2, 3, "luhn").build(year=2026, number=999).startswith("26999")


def test_unknown_algorithm_is_a_lookup_error() -> None:
    with pytest.raises(LookupError):
        Scheme("", 2, 6, "crc32").build(year=2026, number=1)


# --- normalise --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "compact"),
    [
        ("26 000001 3", "260000013"),
        ("26-000001-3", "260000013"),
        ("26.000001.3", "260000013"),
        ("26/000001/3", "260000013"),
        ("26_000001_3", "260000013"),
        ("  26 - 000001 / 3  ", "260000013"),
        ("26\u00a0000001\t3", "260000013"),  # non-breaking space and tab from copy and paste
        ("26000001\n3", "260000013"),
        ("ab-c", "ABC"),  # lower case letters are upper-cased (and then refused by validate)
        ("00260000013", "260000013"),  # extra leading zeros
        ("0000-26-000001-3", "260000013"),
        ("12260000013", "12260000013"),  # extra digits that are not zeros stay
        ("", ""),
    ],
)
def test_normalise(typed: str, compact: str) -> None:
    assert SCHEME.normalise(typed) == compact


def test_normalise_restores_missing_leading_zeros() -> None:
    scheme = Scheme("", 0, 6, "luhn")
    canonical = scheme.build(year=2026, number=1)
    assert canonical == "0000018"
    assert scheme.normalise("18") == canonical
    assert scheme.normalise("1-8") == canonical
    assert scheme.validate("18") == canonical
    assert scheme.validate("000000000018") == canonical


# --- validate: each refusal says why ----------------------------------------------------------


@pytest.mark.parametrize("typed", ["", "   ", " - / . "])
def test_validate_empty(typed: str) -> None:
    with pytest.raises(InvalidKassenzeichen) as caught:
        SCHEME.validate(typed)
    assert caught.value.message == "Bitte geben Sie ein Kassenzeichen ein."
    assert caught.value.field == "kassenzeichen"
    assert caught.value.code == "invalid_kassenzeichen"


@pytest.mark.parametrize("typed", ["26-00A001-3", "abc", "KZ 26000001 3", "26000001３"])
def test_validate_letters(typed: str) -> None:
    with pytest.raises(InvalidKassenzeichen, match="besteht nur aus Ziffern") as caught:
        SCHEME.validate(typed)
    assert caught.value.field == "kassenzeichen"


@pytest.mark.parametrize(
    ("typed", "count"),
    [("2600000133", 10), ("126-000001-33", 11), ("1260000013", 10)],
)
def test_validate_wrong_length(typed: str, count: int) -> None:
    with pytest.raises(InvalidKassenzeichen) as caught:
        SCHEME.validate(typed)
    assert caught.value.message == (f"Ein Kassenzeichen hat 9 Ziffern; eingegeben wurden {count}.")


def test_validate_wrong_prefix() -> None:
    other = Scheme("52", 2, 6, "luhn").build(year=2026, number=123)
    with pytest.raises(InvalidKassenzeichen) as caught:
        PREFIXED.validate(other)
    assert caught.value.message == "Kassenzeichen dieser Kasse beginnen mit 51."


@pytest.mark.parametrize("typed", ["260000014", "26-000001-0", "260001234"])
def test_validate_wrong_check_digit(typed: str) -> None:
    with pytest.raises(InvalidKassenzeichen) as caught:
        SCHEME.validate(typed)
    assert "Die Prüfziffer (die letzte Ziffer) passt nicht" in caught.value.message
    assert "Bescheid" in caught.value.message


def test_validate_without_check_digit_accepts_any_number() -> None:
    scheme = Scheme("", 2, 6, "none")
    assert scheme.validate("26 123456") == "26123456"


def test_scheme_of_an_organisation(db: None) -> None:
    org = factories.organisation(
        kz_prefix="51", kz_year_digits=4, kz_number_digits=5, kz_check_algorithm="mod11"
    )
    assert Scheme.of(org) == Scheme("51", 4, 5, "mod11")


# --- display ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scheme", "canonical", "shown"),
    [
        (SCHEME, "260001235", "26-000123-5"),
        (PREFIXED, "51260001238", "51-26-000123-8"),
        (Scheme("", 4, 6, "luhn"), "20260000011", "2026-000001-1"),
        (Scheme("", 0, 6, "luhn"), "0000018", "000001-8"),
        (Scheme("", 2, 6, "none"), "26000042", "26-000042"),
        (SCHEME, "ABC-4711", "ABC-4711"),  # imported, free-form: shown as it is
        (SCHEME, "12345", "12345"),
    ],
)
def test_display(scheme: Scheme, canonical: str, shown: str) -> None:
    assert scheme.display(canonical) == shown


# --- properties -------------------------------------------------------------------------------


@st.composite
def schemes_and_numbers(draw: st.DrawFn, algorithm: str | None = None) -> tuple[Scheme, int, int]:
    scheme = Scheme(
        prefix=draw(st.text(alphabet="0123456789", max_size=4)),
        year_digits=draw(st.sampled_from([0, 2, 4])),
        number_digits=draw(st.integers(min_value=3, max_value=12)),
        algorithm=algorithm or draw(st.sampled_from(["luhn", "mod11", "weighted2n", "none"])),
    )
    year = draw(st.integers(min_value=2000, max_value=2099))
    number = draw(st.integers(min_value=1, max_value=10**scheme.number_digits - 1))
    return scheme, year, number


@given(schemes_and_numbers())
def test_display_reads_back_as_the_canonical_form(case: tuple[Scheme, int, int]) -> None:
    scheme, year, number = case
    canonical = scheme.build(year=year, number=number)
    assert canonical.isdigit()
    assert len(canonical) == scheme.length
    assert scheme.validate(scheme.display(canonical)) == canonical
    assert scheme.validate("000" + canonical) == canonical
    assert scheme.validate(canonical.lstrip("0")) == canonical


@given(schemes_and_numbers(), st.data())
def test_separators_anywhere_read_back_as_the_canonical_form(
    case: tuple[Scheme, int, int], data: st.DataObject
) -> None:
    scheme, year, number = case
    canonical = scheme.build(year=year, number=number)
    separators = st.text(alphabet=" -./_\t\u00a0", max_size=3)
    typed = data.draw(separators) + "".join(c + data.draw(separators) for c in canonical)
    assert scheme.validate(typed) == canonical


@pytest.mark.parametrize("algorithm", ["luhn", "weighted2n"])
@given(data=st.data())
def test_any_single_digit_change_is_rejected(algorithm: str, data: st.DataObject) -> None:
    scheme, year, number = data.draw(schemes_and_numbers(algorithm))
    canonical = scheme.build(year=year, number=number)
    position = data.draw(st.integers(min_value=0, max_value=len(canonical) - 1))
    digit = data.draw(st.sampled_from([d for d in "0123456789" if d != canonical[position]]))
    typo = canonical[:position] + digit + canonical[position + 1 :]
    with pytest.raises(InvalidKassenzeichen):
        scheme.validate(typo)


# --- numbering in the database ----------------------------------------------------------------


def _number(receivable: Receivable) -> tuple[str, int]:
    """Year part and running number of a Kassenzeichen in the default test scheme."""
    kz = receivable.kassenzeichen
    return kz[:2], int(kz[2:8])


@pytest.mark.django_db
class TestNumbering:
    def test_numbers_run_per_year_and_restart_next_year(
        self, org: Organisation, department: Department, budget_line: BudgetLine
    ) -> None:
        with clock.frozen(MARCH_2026):
            first = [factories.receivable(org, department, budget_line) for _ in range(3)]
        with clock.frozen(dt.datetime(2027, 1, 4, 9, 0)):  # noqa: DTZ001
            second = [factories.receivable(org, department, budget_line) for _ in range(2)]
        assert [_number(r) for r in first] == [("26", 1), ("26", 2), ("26", 3)]
        assert [_number(r) for r in second] == [("27", 1), ("27", 2)]
        assert [r.kassenzeichen for r in first] == ["260000013", "260000021", "260000039"]
        for receivable in first + second:
            assert Scheme.of(org).validate(receivable.kassenzeichen) == receivable.kassenzeichen
        counters = dict(
            KassenzeichenCounter.objects.filter(organisation=org).values_list("year", "last_number")
        )
        assert counters == {2026: 3, 2027: 2}

    def test_year_is_the_berlin_business_year(
        self, org: Organisation, department: Department, budget_line: BudgetLine
    ) -> None:
        # 23:30 UTC on New Year's Eve is already 00:30 on 1 January in Berlin.
        with clock.frozen(dt.datetime(2026, 12, 31, 23, 30, tzinfo=dt.UTC)):
            receivable = factories.receivable(org, department, budget_line)
        assert _number(receivable) == ("27", 1)

    def test_numbers_are_per_organisation(
        self, org: Organisation, department: Department, budget_line: BudgetLine
    ) -> None:
        other = factories.organisation(kz_prefix="9", kz_check_algorithm="mod11")
        other_department = factories.department(other)
        other_line = factories.budget_line(other)
        with clock.frozen(MARCH_2026):
            a1 = factories.receivable(org, department, budget_line)
            b1 = factories.receivable(other, other_department, other_line)
            a2 = factories.receivable(org, department, budget_line)
            b2 = factories.receivable(other, other_department, other_line)
        assert [_number(a1), _number(a2)] == [("26", 1), ("26", 2)]
        # The other organisation's own scheme: prefix 9 and mod 11.
        assert [b1.kassenzeichen, b2.kassenzeichen] == [
            Scheme("9", 2, 6, "mod11").build(year=2026, number=1),
            Scheme("9", 2, 6, "mod11").build(year=2026, number=2),
        ]

    def test_next_kassenzeichen_uses_the_organisations_scheme(self, db: None) -> None:
        org = factories.organisation(
            kz_prefix="51", kz_year_digits=4, kz_number_digits=5, kz_check_algorithm="weighted2n"
        )
        with transaction.atomic():
            first = next_kassenzeichen(organisation=org, year=2026)
            second = next_kassenzeichen(organisation=org, year=2026)
        scheme = Scheme("51", 4, 5, "weighted2n")
        assert first == scheme.build(year=2026, number=1)
        assert second == scheme.build(year=2026, number=2)
        assert first.startswith("51202600001")

    def test_a_rolled_back_creation_leaves_no_gap(
        self, org: Organisation, department: Department, budget_line: BudgetLine
    ) -> None:
        with clock.frozen(MARCH_2026):
            first = factories.receivable(org, department, budget_line)
            with pytest.raises(RuntimeError, match="abort"), transaction.atomic():
                factories.receivable(org, department, budget_line)
                raise RuntimeError("abort")
            second = factories.receivable(org, department, budget_line)
        assert [_number(first), _number(second)] == [("26", 1), ("26", 2)]
        assert Receivable.objects.filter(organisation=org).count() == 2

    def test_a_refused_creation_leaves_no_gap(
        self, org: Organisation, department: Department, budget_line: BudgetLine
    ) -> None:
        from rathauskasse.core.errors import ValidationFailed

        with clock.frozen(MARCH_2026):
            with pytest.raises(ValidationFailed):
                factories.receivable(org, department, budget_line, purpose="   ")
            receivable = factories.receivable(org, department, budget_line)
        assert _number(receivable) == ("26", 1)

    def test_exhausted_range_is_refused_and_the_counter_stays(
        self, department: Department, budget_line: BudgetLine
    ) -> None:
        org = department.organisation
        org.kz_number_digits = 3
        org.save()
        KassenzeichenCounter.objects.create(organisation=org, year=2026, last_number=998)
        with clock.frozen(MARCH_2026):
            last = factories.receivable(org, department, budget_line)
            with pytest.raises(InvalidKassenzeichen, match="erschöpft"):
                factories.receivable(org, department, budget_line)
        assert last.kassenzeichen.startswith("26999")
        assert KassenzeichenCounter.objects.get(organisation=org, year=2026).last_number == 999
        assert Receivable.objects.filter(organisation=org).count() == 1


@pytest.mark.django_db
class TestGivenKassenzeichen:
    def test_a_given_kassenzeichen_is_validated_and_stored_compact(
        self, org: Organisation, department: Department, budget_line: BudgetLine
    ) -> None:
        typed = " 26-004711/" + SCHEME.build(year=2026, number=4711)[-1]
        receivable = factories.receivable(org, department, budget_line, kassenzeichen=typed)
        receivable.refresh_from_db()
        assert receivable.kassenzeichen == SCHEME.build(year=2026, number=4711)
        assert receivable.kassenzeichen_display == "26-004711-" + receivable.kassenzeichen[-1]

    @pytest.mark.parametrize(
        ("typed", "reason"),
        [
            ("260000014", "Prüfziffer"),
            ("26-000001-33", "hat 9 Ziffern; eingegeben wurden 10"),
            ("26-00A001-3", "nur aus Ziffern"),
            ("", "Bitte geben Sie ein Kassenzeichen ein."),
        ],
    )
    def test_an_invalid_given_kassenzeichen_is_refused(
        self,
        typed: str,
        reason: str,
        org: Organisation,
        department: Department,
        budget_line: BudgetLine,
    ) -> None:
        with pytest.raises(InvalidKassenzeichen, match=reason) as caught:
            factories.receivable(org, department, budget_line, kassenzeichen=typed)
        assert caught.value.field == "kassenzeichen"
        assert not Receivable.objects.filter(organisation=org).exists()

    def test_a_duplicate_is_refused_however_it_is_typed(
        self, org: Organisation, department: Department, budget_line: BudgetLine
    ) -> None:
        kz = SCHEME.build(year=2025, number=77)
        factories.receivable(org, department, budget_line, kassenzeichen=kz)
        with pytest.raises(InvalidKassenzeichen, match="bereits vergeben"):
            factories.receivable(org, department, budget_line, kassenzeichen=kz)
        with pytest.raises(InvalidKassenzeichen, match="bereits vergeben"):
            factories.receivable(
                org, department, budget_line, kassenzeichen="00 " + SCHEME.display(kz)
            )
        assert Receivable.objects.filter(organisation=org).count() == 1

    def test_the_same_kassenzeichen_in_another_organisation_is_fine(
        self, org: Organisation, department: Department, budget_line: BudgetLine
    ) -> None:
        other = factories.organisation()
        kz = SCHEME.build(year=2025, number=77)
        factories.receivable(org, department, budget_line, kassenzeichen=kz)
        theirs = factories.receivable(
            other, factories.department(other), factories.budget_line(other), kassenzeichen=kz
        )
        assert theirs.kassenzeichen == kz

    def test_given_kassenzeichen_never_collide_with_generated_ones(
        self, org: Organisation, department: Department, budget_line: BudgetLine
    ) -> None:
        with clock.frozen(MARCH_2026):
            taken = SCHEME.build(year=2026, number=2)
            factories.receivable(org, department, budget_line, kassenzeichen=taken)
            generated = [factories.receivable(org, department, budget_line) for _ in range(3)]
        values = [r.kassenzeichen for r in generated]
        assert taken not in values
        assert len(set(values)) == 3
