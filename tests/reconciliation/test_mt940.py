"""MT940: German :86: subfields, encodings, reversal marks, and broken line wraps."""

from __future__ import annotations

import datetime as dt

import pytest

from rathauskasse.reconciliation.lines import StatementError, StatementLine
from rathauskasse.reconciliation.parsers import parse

HEADER = (
    ":20:STARTUMS\r\n:25:DE89370400440532013000\r\n:28C:00042/001\r\n:60F:C261130EUR1000,00\r\n"
)
FOOTER = ":62F:C261201EUR1010,00\r\n-\r\n"


def mt940(*body: str, encoding: str = "utf-8") -> bytes:
    return (HEADER + "".join(body) + FOOTER).encode(encoding)


def lines_of(data: bytes) -> list[StatementLine]:
    return list(parse(data))


SEPA_CREDIT = (
    ":61:2612011201CR10,50NTRFNONREF//BANKREF123\r\n"
    ":86:166?00SEPA-GUTSCHRIFT?109310?20EREF+E2E-4711?21KREF+KUNDE-1?22MREF+MANDAT-9\r\n"
    "?23CRED+DE98ZZZ09999999999?24SVWZ+Kassenzeichen 1234.567?258.9 Hundesteuer?26ABWA+Max\r\n"
    " Mustermann Jr?30BYLADEM1001?31DE02120300000000202051?32Erika Muster?33mann\r\n"
)


def test_a_sepa_credit_with_every_german_subfield() -> None:
    [line] = lines_of(mt940(SEPA_CREDIT))

    assert line.amount_cents == 1050
    assert line.currency == "EUR"
    assert line.value_date == dt.date(2026, 12, 1)
    assert line.booking_date == dt.date(2026, 12, 1)
    assert line.end_to_end_id == "E2E-4711"
    assert line.customer_reference == "KUNDE-1"
    assert line.mandate_id == "MANDAT-9"
    assert line.creditor_id == "DE98ZZZ09999999999"
    assert line.remittance_text == "Kassenzeichen 1234.5678.9 Hundesteuer"
    assert line.ultimate_party_name == "Max Mustermann Jr"
    assert line.counterparty_name == "Erika Mustermann"
    assert line.counterparty_iban == "DE02120300000000202051"
    assert line.counterparty_bic == "BYLADEM1001"
    assert line.bank_transaction_code == "166"
    assert line.additional_info == "SEPA-GUTSCHRIFT"
    assert line.account_servicer_reference == "BANKREF123"
    assert line.statement.account_iban == "DE89370400440532013000"
    assert line.statement.statement_id == "STARTUMS/00042/001"
    assert line.statement.opening_balance_cents == 100000
    assert line.statement.closing_balance_cents == 101000


@pytest.mark.parametrize(
    ("mark", "cents", "reversal"),
    [("C", 1050, False), ("D", -1050, False), ("RC", -1050, True), ("RD", 1050, True)],
)
def test_credit_debit_and_reversal_marks(mark: str, cents: int, reversal: bool) -> None:
    [line] = lines_of(mt940(f":61:2612011201{mark}10,50NTRFNONREF\r\n:86:Text\r\n"))

    assert line.amount_cents == cents
    assert line.reversal is reversal


def test_a_returned_direct_debit_by_its_business_code_is_a_reversal_with_reason() -> None:
    body = ":61:2612011201D10,50NRTINONREF\r\n:86:109?00RUECKLASTSCHRIFT?20SVWZ+X?34MD06\r\n"

    [line] = lines_of(mt940(body))

    assert line.reversal
    assert line.return_reason == "MD06"


@pytest.mark.parametrize("encoding", ["utf-8", "latin-1"])
def test_utf8_and_latin1_umlauts(encoding: str) -> None:
    body = ":61:2612011201C1,00NTRFNONREF\r\n:86:166?00GUTSCHRIFT?20SVWZ+Gebühr?32Jürgen Öztürk\r\n"

    [line] = lines_of(mt940(body, encoding=encoding))

    assert line.counterparty_name == "Jürgen Öztürk"
    assert line.remittance_text == "Gebühr"


def test_a_continuation_line_where_none_belongs_names_the_line() -> None:
    data = mt940(":61:2612011201C1,00NTRFNONREF\r\n:86:Text\r\n").replace(
        b":28C:00042/001\r\n", b":28C:00042/001\r\n/002\r\n"
    )

    with pytest.raises(StatementError, match=r"MT940, Zeile 4: .*:28C:.*Zeilenumbruch"):
        lines_of(data)


def test_an_amount_broken_by_a_line_wrap_is_refused_not_misread() -> None:
    body = ":61:2612011201CR5\r\n0990,05NTRFNONREF\r\n:86:Text\r\n"

    with pytest.raises(StatementError, match=r"MT940, Zeile 5: Der Betrag „5“.*Dezimalkomma"):
        lines_of(mt940(body))


def test_an_unreadable_statement_line_names_its_line() -> None:
    with pytest.raises(StatementError, match=r"MT940, Zeile 5"):
        lines_of(mt940(":61:26XX01C1,00NTRF\r\n"))


def test_text_before_the_first_tag_is_not_mt940() -> None:
    with pytest.raises(StatementError, match="Zeile 1"):
        lines_of(b"Umsaetze\r\n:20:X\r\n:25:1/2\r\n:61:2612011201C1,00NTRF\r\n:86:x\r\n")


def test_several_statements_each_get_their_own_info() -> None:
    second = (HEADER + ":61:2612021202D2,00NTRFNONREF\r\n:86:b\r\n" + FOOTER).replace(
        "00042", "00043"
    )
    data = mt940(":61:2612011201C1,00NTRFNONREF\r\n:86:a\r\n") + second.encode()

    lines = lines_of(data)

    assert [(line.statement.sequence_number, line.amount_cents) for line in lines] == [
        ("00042", 100),
        ("00043", -200),
    ]


def test_short_purpose_lines_keep_their_word_boundary_and_full_lines_join() -> None:
    body = (
        ":61:2612011201C1,00NTRFNONREF\r\n"
        ":86:166?00GUTSCHRIFT?20SVWZ+Strukturierter Verwend?21ungszweck Zeile?22zwei\r\n"
    )

    [line] = lines_of(mt940(body))

    assert line.remittance_text == "Strukturierter Verwendungszweck Zeile zwei"


def test_a_statement_longer_than_one_chunk_keeps_every_line_in_order() -> None:
    body = "".join(
        f":61:2612011201C{number},00NTRFNONREF//B{number}\r\n:86:166?20SVWZ+KZ {number}\r\n"
        for number in range(1, 1202)
    )

    lines = lines_of(mt940(body))

    assert [line.entry_index for line in lines] == list(range(1, 1202))
    assert [line.amount_cents for line in lines] == [n * 100 for n in range(1, 1202)]
    assert lines[-1].remittance_text == "KZ 1201"
    assert lines[-1].account_servicer_reference == "B1201"
    assert all(line.statement.closing_balance_cents == 101000 for line in lines)
