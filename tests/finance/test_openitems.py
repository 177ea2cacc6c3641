"""Reading amounts, dates and whole files exactly as the profile says, and never crashing."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rathauskasse.finance import openitems
from rathauskasse.finance.models import Encoding, OpenItemProfile
from rathauskasse.organisations.models import BudgetLine, Department
from rathauskasse.receivables.kassenzeichen import Scheme


@pytest.mark.parametrize(
    ("text", "decimal", "thousands", "cents"),
    [
        ("12,50", ",", "", 1250),
        ("12,5", ",", "", 1250),
        ("12", ",", "", 1200),
        (" 1234,56 ", ",", "", 123456),
        ("1.234,56", ",", ".", 123456),
        ("1234,56", ",", ".", 123456),  # the thousands separator is optional
        ("1.234.567,00", ",", ".", 123456700),
        ("1 234,56", ",", " ", 123456),
        ("1\u00a0234,56", ",", " ", 123456),
        ("12.50", ".", "", 1250),
        ("1,234.56", ".", ",", 123456),
        ("1'234.56", ".", "'", 123456),
        ("12,50 €", ",", ".", 1250),
        ("EUR 12,50", ",", ".", 1250),
        ("0,01", ",", "", 1),
        ("999.999.999,99", ",", ".", 99_999_999_999),
    ],
)
def test_amounts_are_read_exactly_in_cents(
    text: str, decimal: str, thousands: str, cents: int
) -> None:
    assert openitems.parse_amount(text, decimal=decimal, thousands=thousands) == cents


@pytest.mark.parametrize(
    ("text", "decimal", "thousands", "reason"),
    [
        ("12,5O", ",", ".", "„12,5O“ ist kein Betrag; erwartet wird z. B. „1.234,56“."),
        ("12.50", ",", "", "„12.50“: Das Profil erwartet ein Dezimalkomma, z. B. „1234,56“."),
        ("12,50", ".", "", "„12,50“: Das Profil erwartet einen Dezimalpunkt, z. B. „1234.56“."),
        ("12,505", ",", "", "„12,505“ hat mehr als zwei Nachkommastellen."),
        ("-1,00", ",", "", "negativ"),
        ("\u22121,00", ",", "", "negativ"),
        ("1,00-", ",", "", "negativ"),
        ("0", ",", "", "Der Betrag muss größer als 0 sein."),
        ("", ",", "", "Der Betrag fehlt."),
        ("12.34.56", ",", ".", "kein Betrag"),
        ("1.2345,00", ",", ".", "kein Betrag"),
        ("1e3", ",", "", "kein Betrag"),
        ("١٢", ",", "", "kein Betrag"),  # Arabic-Indic digits are digits to Python, not to us
        ("1.000.000.000,00", ",", ".", "zu groß"),
    ],
)
def test_amounts_that_are_not_exactly_right_are_refused(
    text: str, decimal: str, thousands: str, reason: str
) -> None:
    with pytest.raises(openitems._Refused) as refused:
        openitems.parse_amount(text, decimal=decimal, thousands=thousands)
    assert reason in refused.value.message


@given(
    st.integers(1, openitems.MAX_AMOUNT_CENTS),
    st.sampled_from([("", ","), (".", ","), (",", "."), ("", ".")]),
)
def test_an_amount_written_by_the_profile_reads_back(
    cents: int, separators: tuple[str, str]
) -> None:
    thousands, decimal = separators
    euros, rest = divmod(cents, 100)
    grouped = f"{euros:,}".replace(",", thousands)
    assert (
        openitems.parse_amount(
            f"{grouped}{decimal}{rest:02d}", decimal=decimal, thousands=thousands
        )
        == cents
    )


@pytest.mark.parametrize(
    ("text", "date_format", "expected"),
    [
        ("31.12.2026", "%d.%m.%Y", dt.date(2026, 12, 31)),
        ("1.2.2027", "%d.%m.%Y", dt.date(2027, 2, 1)),
        ("29.02.2028", "%d.%m.%Y", dt.date(2028, 2, 29)),
        ("31.12.26", "%d.%m.%y", dt.date(2026, 12, 31)),
        ("2026-12-31", "%Y-%m-%d", dt.date(2026, 12, 31)),
        ("20261231", "%Y%m%d", dt.date(2026, 12, 31)),
        ("31/12/2026", "%d/%m/%Y", dt.date(2026, 12, 31)),
    ],
)
def test_dates_are_read_in_the_profiles_format(
    text: str, date_format: str, expected: dt.date
) -> None:
    assert openitems.parse_date(text, date_format) == expected


@pytest.mark.parametrize(
    ("text", "date_format", "reason"),
    [
        ("31.02.2026", "%d.%m.%Y", "Den 31.02.2026 gibt es nicht."),
        ("29.02.2027", "%d.%m.%Y", "Den 29.02.2027 gibt es nicht."),
        ("00.01.2027", "%d.%m.%Y", "gibt es nicht"),
        ("15.13.2027", "%d.%m.%Y", "gibt es nicht"),
        (
            "2026-12-31",
            "%d.%m.%Y",
            "„2026-12-31“ ist kein Datum im Format TT.MM.JJJJ (31.12.2026).",
        ),
        ("31.12.2026", "%Y-%m-%d", "kein Datum im Format JJJJ-MM-TT"),
        ("31.12.2026 12:00", "%d.%m.%Y", "kein Datum"),
    ],
)
def test_impossible_dates_and_other_formats_are_refused(
    text: str, date_format: str, reason: str
) -> None:
    with pytest.raises(openitems._Refused) as refused:
        openitems.parse_date(text, date_format)
    assert reason in refused.value.message


def _profile(**overrides: object) -> OpenItemProfile:
    fields: dict[str, object] = {
        "column_kassenzeichen": "KZ",
        "column_amount": "Betrag",
        "column_debtor_name": "Name",
        "column_due_date": "Fällig",
        "column_budget_line": "HHSt",
        "default_purpose": "Gebühr",
    }
    fields.update(overrides)
    return OpenItemProfile(**fields)


_LOOKUPS = openitems.Lookups(
    budget_lines={"1.1": BudgetLine(id=1, organisation_id=1, code="1.1", is_active=True)},
    departments_by_code={},
    departments_by_name={},
    default_department=Department(id=1, organisation_id=1, name="Steueramt"),
)
_SCHEME = Scheme(prefix="", year_digits=2, number_digits=6, algorithm="luhn")


@settings(max_examples=150, deadline=None)
@given(
    data=st.one_of(
        st.binary(max_size=300),
        st.lists(
            st.lists(st.text(max_size=12), min_size=0, max_size=6).map(";".join), max_size=6
        ).map(lambda lines: "\n".join(["KZ;Betrag;Name;Fällig;HHSt", *lines]).encode()),
    ),
    encoding=st.sampled_from(Encoding.values),
    has_header=st.booleans(),
)
def test_no_file_makes_the_reader_crash(data: bytes, encoding: str, has_header: bool) -> None:
    overrides: dict[str, object] = {"encoding": encoding, "has_header": has_header}
    if not has_header:
        overrides.update(
            column_kassenzeichen="1",
            column_amount="2",
            column_debtor_name="3",
            column_due_date="4",
            column_budget_line="5",
        )
    parsed = openitems.read(
        data,
        profile=_profile(**overrides),
        scheme=_SCHEME,
        lookups=_LOOKUPS,
        today=dt.date(2026, 12, 1),
    )
    assert parsed.error_count or parsed.receivables
    assert len(parsed.receivables) == len(parsed.rows)
    assert all(error.message for error in parsed.errors)
