"""camt.052/053/054 in every version: what a line carries, batches, reversals, exact amounts."""

from __future__ import annotations

import contextlib
import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from rathauskasse.reconciliation.lines import StatementError, StatementLine
from rathauskasse.reconciliation.parsers import camt as camt_parser
from rathauskasse.reconciliation.parsers import parse
from tests.reconciliation.camtfiles import Entry, Tx, camt

VERSIONS = range(2, 14)


def lines_of(data: bytes) -> list[StatementLine]:
    return list(parse(data))


@pytest.mark.parametrize("kind", ["052", "053", "054"])
@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("style", ["default", "none", "prefix-only"])
def test_every_version_with_or_without_namespace_reads_the_same_line(
    kind: str, version: int, style: str
) -> None:
    data = camt(
        Entry(txs=[Tx(mandate="M-7", strd_ref="RF18539007547034")]),
        kind=kind,
        version=version,
        namespace=style == "default",
        prefix_only=style == "prefix-only",
    )

    [line] = lines_of(data)

    expected_format = f"camt.{kind}.001.{version:02d}" if style != "none" else f"camt.{kind}"
    assert line.statement.format == expected_format
    assert line.statement.statement_id == "STMT-1"
    assert line.statement.account_iban == "DE89370400440532013000"
    assert line.statement.sequence_number == "42"
    assert line.statement.opening_balance_cents == -10000
    assert line.statement.closing_balance_cents == 25050
    assert line.statement.created_at == dt.datetime.fromisoformat(
        "2026-12-01T06:00:00.123456+01:00"
    )
    assert line.amount_cents == 1000
    assert line.currency == "EUR"
    assert line.booking_date == dt.date(2026, 11, 30)
    assert line.value_date == dt.date(2026, 12, 1)
    assert line.end_to_end_id == "E2E-1"
    assert line.mandate_id == "M-7"
    assert line.account_servicer_reference == "REF-1"
    assert line.entry_reference == "N-1"
    assert line.remittance_text == "KZ 1234.5678.9"
    assert line.structured_reference == "RF18539007547034"
    assert line.counterparty_name == "Erika Mustermann"
    assert line.counterparty_iban == "DE02120300000000202051"
    assert line.counterparty_bic == "BYLADEM1001"
    assert line.bank_transaction_code == "PMNT/RCDT/ESCT"
    assert not line.batch
    assert line.extra == ()


def test_a_debit_is_negative_and_names_the_creditor() -> None:
    [line] = lines_of(camt(Entry(indicator="DBIT", amount="1234.56")))

    assert line.amount_cents == -123456
    assert line.counterparty_name == "Stadt Musterhausen"


def test_every_ustrd_is_kept_joined_by_a_space() -> None:
    [line] = lines_of(camt(Entry(txs=[Tx(ustrd=("KZ 1111.2222.3", "und KZ  4444.5555.6"))])))

    assert line.remittance_text == "KZ 1111.2222.3 und KZ 4444.5555.6"


@pytest.mark.parametrize("version", [2, 4, 8, 13])
def test_a_batch_splits_into_one_line_per_transaction(version: int) -> None:
    entry = Entry(
        amount="30.00",
        batch_count=2,
        txs=[Tx(amount="10.00", end_to_end="A"), Tx(amount="20.00", end_to_end="B")],
    )

    lines = lines_of(camt(entry, version=version))

    assert [(line.transaction_index, line.amount_cents) for line in lines] == [(1, 1000), (2, 2000)]
    assert [line.end_to_end_id for line in lines] == ["A", "B"]
    assert all(line.batch and line.batch_count == 2 and line.entry_index == 1 for line in lines)
    assert all(line.account_servicer_reference == "REF-1" for line in lines)


def test_a_batch_without_transaction_details_is_one_line_with_its_count() -> None:
    [line] = lines_of(camt(Entry(amount="99.00", batch_count=7, txs=[])))

    assert line.amount_cents == 9900
    assert line.batch
    assert line.batch_count == 7
    assert line.transaction_index == 0


def test_a_batch_whose_transactions_do_not_add_up_is_refused_naming_the_entry() -> None:
    entry = Entry(amount="30.00", txs=[Tx(amount="10.00"), Tx(amount="19.99")])

    with pytest.raises(StatementError, match=r"Auszug „STMT-1“, Eintrag 1 \(Zeile 2\).*ergeben"):
        lines_of(camt(entry))


def test_a_batch_where_only_some_transactions_have_amounts_is_refused() -> None:
    entry = Entry(amount="30.00", txs=[Tx(amount="10.00"), Tx(amount=None)])

    with pytest.raises(StatementError, match="Transaktion 2: Der Betrag der Transaktion fehlt"):
        lines_of(camt(entry))


def test_a_batch_whose_transactions_have_no_amounts_stays_one_line() -> None:
    entry = Entry(
        amount="30.00", txs=[Tx(amount=None, ustrd=("KZ 1",)), Tx(amount=None, ustrd=("KZ 2",))]
    )

    [line] = lines_of(camt(entry))

    assert line.amount_cents == 3000
    assert line.batch
    assert line.batch_count == 2
    assert line.remittance_text == "KZ 1 KZ 2"  # the matcher still sees every reference
    assert ("batch_not_split", "no_amounts") in line.extra


def test_a_reversal_keeps_the_banks_sign_and_the_original_payer_and_reason() -> None:
    entry = Entry(indicator="DBIT", reversal=True, txs=[Tx(return_reason="MD06")])

    [line] = lines_of(camt(entry))

    assert line.amount_cents == -1000
    assert line.reversal
    assert line.return_reason == "MD06"
    assert line.counterparty_name == "Erika Mustermann"  # who paid the returned direct debit


def test_charges_of_the_entry_and_of_each_transaction() -> None:
    single = lines_of(camt(Entry(charges="1.50")))
    split = lines_of(
        camt(Entry(amount="30.00", txs=[Tx(amount="10.00", charges="0.25"), Tx(amount="20.00")]))
    )

    assert single[0].charges_cents == 150
    assert [line.charges_cents for line in split] == [25, 0]


def test_amounts_are_exact_and_trailing_zeros_beyond_the_cent_are_fine() -> None:
    [line] = lines_of(camt(Entry(amount="123456789012.34000")))

    assert line.amount_cents == 12345678901234


def test_a_fraction_of_a_cent_is_refused_instead_of_rounded() -> None:
    # No account books half a cent: a bank that writes 18.155 has a bug we must not hide.
    # The corpus's "five decimals" file only has trailing zeros (18.150), which we read exactly.
    with pytest.raises(StatementError, match="Bruchteile eines Cents"):
        lines_of(camt(Entry(amount="18.155")))


@pytest.mark.parametrize("amount", ["", "12,50", "-5.00", "1e3", "NaN", "12.345678", " . "])
def test_an_unreadable_amount_is_an_error_naming_the_entry(amount: str) -> None:
    data = camt(Entry(), Entry(amount=amount), statement_id="AUSZUG-9")

    with pytest.raises(StatementError, match=r"Auszug „AUSZUG-9“, Eintrag 2.*Betrag") as caught:
        lines_of(data)
    assert "nicht lesbar" in caught.value.message or "Bruchteile" in caught.value.message


def test_an_unknown_credit_debit_indicator_is_an_error() -> None:
    with pytest.raises(StatementError, match="weder CRDT noch DBIT"):
        lines_of(camt(Entry(indicator="CRDTX")))


def test_an_impossible_date_is_an_error() -> None:
    with pytest.raises(StatementError, match="Das Datum „2026-02-30“ gibt es nicht"):
        lines_of(camt(Entry(booking="2026-02-30")))


def test_a_transaction_indicator_overrides_the_entrys_in_a_mixed_batch() -> None:
    entry = Entry(
        amount="5.00",
        txs=[Tx(amount="10.00", indicator="CRDT"), Tx(amount="5.00", indicator="DBIT")],
    )

    lines = lines_of(camt(entry, version=8))

    assert [line.amount_cents for line in lines] == [1000, -500]


def test_several_statements_in_one_file_count_their_entries_each() -> None:
    one = camt(Entry(), Entry(amount="2.00"), statement_id="A")
    both = one.replace(b"</Stmt>", b"</Stmt>" + one.split(b"<Stmt>")[1].split(b"</Stmt>")[0]
                       .replace(b"<Id>A</Id>", b"<Stmt><Id>B</Id>", 1) + b"</Stmt>", 1)  # fmt: skip

    lines = lines_of(both)

    assert [(line.statement.statement_id, line.entry_index) for line in lines] == [
        ("A", 1),
        ("A", 2),
        ("B", 1),
        ("B", 2),
    ]


def test_every_path_the_parser_looks_up_is_one_the_walk_records(
    corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The walk keeps only the paths in _READ_PATHS (and their parents), and all elements only
    # of the paths in _MANY; any other lookup would quietly find nothing, so every lookup made
    # on the corpus is checked.
    looked_up: dict[str, set[str]] = {"first": set(), "all": set(), "texts": set(), "text": set()}
    for name, seen in looked_up.items():
        original = getattr(camt_parser._Index, name)

        def recording(
            index: object, *paths: str, _original: Any = original, _seen: Any = seen
        ) -> Any:
            _seen.update(paths)
            return _original(index, *paths)

        monkeypatch.setattr(camt_parser._Index, name, recording)
    files = sorted(corpus.glob("*.xml"))
    samples = [camt(Entry(txs=[Tx(charges="1.00", return_reason="AC04", strd_ref="RF18"), Tx()]))]
    for data in [path.read_bytes() for path in files] + samples:
        with contextlib.suppress(StatementError):
            list(parse(data))

    every = set().union(*looked_up.values())
    assert len(every) > 40
    assert every - camt_parser._READ_PATHS == set()
    assert (looked_up["all"] | looked_up["texts"]) - camt_parser._MANY == set()
