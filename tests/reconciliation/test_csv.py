"""CSV profiles: the built-in Sparkasse CSV-CAMT export, and a credit/debit-column bank."""

from __future__ import annotations

import datetime as dt

import pytest

from rathauskasse.reconciliation.lines import StatementError
from rathauskasse.reconciliation.parsers import CsvProfile, parse
from rathauskasse.reconciliation.parsers.csv import SPARKASSE_CAMT_CSV

SPARKASSE = (
    '"Auftragskonto";"Buchungstag";"Valutadatum";"Buchungstext";"Verwendungszweck";'
    '"Glaeubiger ID";"Mandatsreferenz";"Kundenreferenz (End-to-End)";"Sammlerreferenz";'
    '"Lastschrift Ursprungsbetrag";"Auslagenersatz Ruecklastschrift";'
    '"Beguenstigter/Zahlungspflichtiger";"Kontonummer/IBAN";"BIC (SWIFT-Code)";"Betrag";'
    '"Waehrung";"Info"\r\n'
    '"DE89370400440532013000";"30.11.26";"01.12.26";"GUTSCHR. UEBERWEISUNG";'
    '"Kassenzeichen 1234.5678.9 Grundsteuer";"";"";"E2E-1";"";"";"";"Jürgen Müller";'
    '"DE02120300000000202051";"BYLADEM1001";"1.234,56";"EUR";"Umsatz gebucht"\r\n'
    '"DE89370400440532013000";"30.11.26";"30.11.26";"RUECKLASTSCHRIFT";"Abgabe";'
    '"DE98ZZZ09999999999";"M-1";"E2E-2";"";"";"";"Erika Musterfrau";'
    '"DE02120300000000202052";"BYLADEM1001";"-12,00";"EUR";"Umsatz gebucht"\r\n'
)


def test_the_sparkasse_csv_camt_export_is_recognised_and_read() -> None:
    first, second = parse(SPARKASSE.encode("cp1252"))

    assert first.statement.format == "csv:sparkasse-camt"
    assert first.statement.account_iban == "DE89370400440532013000"
    assert first.amount_cents == 123456
    assert first.booking_date == dt.date(2026, 11, 30)
    assert first.value_date == dt.date(2026, 12, 1)
    assert first.remittance_text == "Kassenzeichen 1234.5678.9 Grundsteuer"
    assert first.counterparty_name == "Jürgen Müller"
    assert first.counterparty_iban == "DE02120300000000202051"
    assert first.end_to_end_id == "E2E-1"
    assert (second.amount_cents, second.mandate_id, second.creditor_id) == (
        -1200,
        "M-1",
        "DE98ZZZ09999999999",
    )
    assert second.reversal
    assert [first.entry_index, second.entry_index] == [1, 2]


def test_an_unreadable_amount_names_the_csv_line() -> None:
    data = SPARKASSE.replace('"-12,00"', '"zwölf"').encode("cp1252")

    with pytest.raises(StatementError, match=r"CSV, Zeile 3: Der Betrag „zwölf“"):
        list(parse(data))


def test_a_file_in_another_encoding_than_the_profile_says_is_refused() -> None:
    profile = CsvProfile(name="utf8", booking_date="Datum", amount="Betrag", encoding="utf-8")

    with pytest.raises(StatementError, match="Kodierung „utf-8“"):
        list(
            parse(
                "Datum;Betrag;Text\n01.12.2026;1,00;Gebühr\n".encode("latin-1"), csv_profile=profile
            )
        )


def test_a_credit_and_debit_column_profile() -> None:
    profile = CsvProfile(
        name="haben-soll",
        booking_date="Datum",
        credit="Haben",
        debit="Soll",
        text="Text",
        separator=",",
        decimal_comma=False,
        date_format="%Y-%m-%d",
    )
    data = b'Datum,Soll,Haben,Text\n2026-12-01,,"1,000.50",KZ 1\n2026-12-01,2.00,,KZ 2\n'

    lines = list(parse(data, csv_profile=profile))

    assert [(line.amount_cents, line.remittance_text) for line in lines] == [
        (100050, "KZ 1"),
        (-200, "KZ 2"),
    ]


def test_a_row_with_both_credit_and_debit_is_refused() -> None:
    profile = CsvProfile(name="hs", booking_date="Datum", credit="Haben", debit="Soll")

    with pytest.raises(StatementError, match="Genau eine der Spalten"):
        list(parse(b"Datum;Soll;Haben\n01.12.2026;1,00;2,00\n", csv_profile=profile))


def test_a_profile_column_missing_from_the_header_is_named() -> None:
    with pytest.raises(StatementError, match="Spalte „Betrag“"):
        list(parse(b"Datum;Summe\n01.12.2026;1,00\n", csv_profile=CsvProfile(
            name="x", booking_date="Datum", amount="Betrag")))  # fmt: skip


def test_a_profile_needs_an_amount_column() -> None:
    with pytest.raises(ValueError, match="amount column"):
        CsvProfile(name="x", booking_date="Datum")
    assert SPARKASSE_CAMT_CSV.encoding == "cp1252"
