"""Every real statement in the corpus parses, and agrees with the other parsers' expected output.

The expected files record what genkgo/camt (PHP) and mt-940 (an older release of the package we
use) made of the same file: a second opinion, not the bank's truth. Where we differ on purpose,
`KNOWN_DIFFERENCES` says why.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from rathauskasse.reconciliation.lines import StatementLine
from rathauskasse.reconciliation.parsers import parse
from tests.reconciliation.conftest import corpus_files

STATEMENTS = corpus_files(".xml", ".sta")
EXPECTED_JSON = [p for p in corpus_files(".json") if p.name.endswith(".expected.json")]
EXPECTED_YML = [p for p in corpus_files(".yml") if p.name.endswith(".expected.yml")]

#: (file, entry, field) -> why our value differs from the other parser's.
KNOWN_DIFFERENCES = {
    ("genkgo-camt054-v8.xml", 1, "merged"): (
        "the entry's TxDtls have amounts in CHF under an SEK entry: they cannot add up to it, "
        "so the entry stays one line; its transactions' end-to-end ids and creditors differ, "
        "so the line carries none of them (genkgo reports the last transaction's)"
    ),
    ("genkgo-camt053-v2-multi-statement.xml", None, "entries"): (
        "the expected file lists only the last statement's entries (genkgo's dump of the "
        "message); we give the lines of both statements"
    ),
    (None, None, "RC"): (
        "mt-940 5.0 left a reversal of a credit (RC) positive (its issue #130); it takes money "
        "out of the account like the debit it is, so it is negative here"
    ),
    (None, None, "bank_reference"): (
        "mt-940 at the fixtures' commit put (part of) the bank reference after // into "
        "extra_details ('33343453', '/9A4616CC6128D651'); 5.1 reads the whole reference"
    ),
}


def _by_entry(lines: list[StatementLine]) -> dict[tuple[str, int], list[StatementLine]]:
    grouped: dict[tuple[str, int], list[StatementLine]] = {}
    for line in lines:
        grouped.setdefault((line.statement.statement_id, line.entry_index), []).append(line)
    return grouped


@pytest.mark.parametrize("path", STATEMENTS, ids=lambda p: p.name)
def test_every_corpus_file_parses_into_lines_with_amounts_and_dates(path: Path) -> None:
    lines = list(parse(path))

    assert lines
    for line in lines:
        assert line.amount_cents != 0 or "pretix" in path.name  # the Bundesbank sample has 0.00
        assert line.value_date is not None or line.booking_date is not None
        assert line.statement.format.startswith(("camt.05", "mt940"))


@pytest.mark.parametrize("path", EXPECTED_JSON, ids=lambda p: p.name)
def test_camt_lines_agree_with_genkgo(path: Path) -> None:
    expected = json.loads(path.read_text())
    source = path.with_name(path.name.replace(".expected.json", ".xml"))
    entries = list(_by_entry(list(parse(source))).values())

    if len(entries) != len(expected["getEntries"]):
        assert (source.name, None, "entries") in KNOWN_DIFFERENCES
        entries = entries[-len(expected["getEntries"]) :]
    for number, (lines, entry) in enumerate(zip(entries, expected["getEntries"], strict=True), 1):
        assert sum(line.amount_cents for line in lines) == int(entry["getAmount"]["getAmount"])
        assert lines[0].currency == entry["getAmount"]["getCurrency"]["getCode"]
        assert str(lines[0].booking_date) == entry["getBookingDate"]["0"][:10]
        assert str(lines[0].value_date) == entry["getValueDate"]["0"][:10]
        assert lines[0].account_servicer_reference == (entry["getAccountServicerReference"] or "")
        assert lines[0].reversal == bool(entry.get("getReversalIndicator"))
        tx = entry["getTransactionDetail"]
        if not isinstance(tx, dict) or (source.name, number, "merged") in KNOWN_DIFFERENCES:
            continue
        reference = tx["getReference"] or {}
        if isinstance(reference, dict) and reference.get("getEndToEndId"):
            assert lines[0].end_to_end_id == reference["getEndToEndId"]
        message = (tx.get("getRemittanceInformation") or {}).get("getMessage")
        if isinstance(message, str):
            ours = f"{lines[0].remittance_text} {lines[0].structured_reference}"
            assert message in ours
        names = {
            party["getRelatedPartyType"].get("getName")
            for party in tx["getRelatedParties"]
            if isinstance(party, dict)
        }
        assert lines[0].counterparty_name in names


class _PythonObjectLoader(yaml.SafeLoader):
    """Reads mt-940's pickled YAML as plain data, without running any of its constructors."""


def _plain(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    if isinstance(node, yaml.SequenceNode):
        values = loader.construct_sequence(node, deep=True)
        if suffix.endswith("Decimal"):
            return Decimal(values[0])
        if suffix.endswith("models.Date"):
            raw = values[0] if isinstance(values[0], bytes) else base64.b64decode(values[0])
            return dt.date(raw[0] * 256 + raw[1], raw[2], raw[3])
        return values
    return loader.construct_scalar(node)  # type: ignore[arg-type]


_PythonObjectLoader.add_multi_constructor("tag:yaml.org,2002:python/", _plain)


def _expected_transactions(path: Path) -> list[dict[str, Any]]:
    # Each transaction points back at its collection; drop the back references.
    text = re.sub(r"(?m)^\s+transactions: \*id\d+\n", "", path.read_text())
    loaded = yaml.load(text, Loader=_PythonObjectLoader)  # noqa: S506 - a SafeLoader
    return [item["data"] for item in loaded["transactions"]]


def _squash(text: object) -> str:
    return "".join(str(text or "").split())


@pytest.mark.parametrize("path", EXPECTED_YML, ids=lambda p: p.name)
def test_mt940_lines_agree_with_mt940_package_fixtures(path: Path) -> None:
    expected = _expected_transactions(path)
    source = path.with_name(path.name.replace(".expected.yml", ".sta"))
    lines = list(parse(source))

    assert len(lines) == len(expected)
    for line, data in zip(lines, expected, strict=True):
        amount = data["amount"]["amount"]
        if str(data.get("status")).upper() == "RC":
            assert (None, None, "RC") in KNOWN_DIFFERENCES
            amount = -amount
        assert Decimal(line.amount_cents) / 100 == amount
        assert line.value_date == data["date"]
        assert line.booking_date == data.get("entry_date", data["date"])
        assert _squash(line.end_to_end_id) == _squash(data.get("end_to_end_reference"))
        # Our purpose gets a space where a ?2x line ended short; the words are the same.
        assert _squash(line.remittance_text) == _squash(
            data.get("purpose") or data.get("transaction_details")
        )
        name = " ".join(str(data.get("applicant_name") or "").split())
        assert line.counterparty_name == name or name.startswith(line.counterparty_iban)
        if data.get("bank_reference"):
            assert line.account_servicer_reference == data["bank_reference"]
        elif data.get("extra_details") and line.account_servicer_reference:
            assert (None, None, "bank_reference") in KNOWN_DIFFERENCES
            assert line.account_servicer_reference.endswith(data["extra_details"].lstrip("/"))


def test_a_batch_without_transaction_details_stays_one_line_with_its_count(corpus: Path) -> None:
    lines = list(parse(corpus / "barzahlen-camt053-v02-batch-no-txdtls.xml"))

    batches = [line for line in lines if line.batch]
    assert batches
    assert all(line.transaction_index == 0 and line.batch_count > 1 for line in batches)


def test_a_returned_batch_splits_into_its_transactions_with_reason(corpus: Path) -> None:
    lines = list(parse(corpus / "oca-camt053-v02-reversal-batch.xml"))

    returned = [line for line in lines if line.entry_index == 2]
    assert [line.transaction_index for line in returned] == [1, 2]
    assert [line.amount_cents for line in returned] == [-56405, -10000]
    assert all(line.reversal and line.return_reason == "AC06" for line in returned)
    assert returned[0].counterparty_name == "Test Customer"
    assert returned[0].mandate_id == "NL22ZZZ524885430000-C0125.1"


def test_five_decimal_amounts_with_trailing_zeros_are_exact_cents(corpus: Path) -> None:
    # genkgo reads 18.150 as 1815 cents, and so do we; 18.155 would be refused (test_camt).
    [line] = parse(corpus / "genkgo-camt053-v2-five-decimals.xml")

    assert line.amount_cents == 885
    assert line.statement.opening_balance_cents == 1815
    assert line.statement.closing_balance_cents == 2705


def test_a_file_without_default_namespace_reads_its_version_from_the_prefix(corpus: Path) -> None:
    lines = list(parse(corpus / "pretix-bundesbank-camt053-v08-dotationskonto.xml"))

    assert {line.statement.format for line in lines} == {"camt.053.001.08"}
    assert lines[0].statement.account_iban == "DE00IBANDESDOTATIONSKONTOS"


def test_camt054_charges_and_camt052_returns_are_read(corpus: Path) -> None:
    charged = list(parse(corpus / "barzahlen-camt053-v04-six-sample.xml"))
    returned = list(parse(corpus / "hbci4java-camt052-v02-ruecklastschrift.xml"))

    assert any(line.charges_cents > 0 for line in charged)
    assert returned[0].statement.format == "camt.052.001.02"
    assert returned[0].amount_cents < 0


def test_mt940_german_subfields(corpus: Path) -> None:
    lines = list(parse(corpus / "jejik-mt940-lbbw.sta"))

    debit = lines[1]
    assert debit.customer_reference == "SEPA-20210203175805-00154800-P1"
    assert (
        debit.remittance_text == "E-MOBILITY ABRECHNUNG NR. 28 ZU VERTRAG 9433, KUNDENNUMMER 11111"
    )
    assert debit.counterparty_iban == "DE59600501010007907986"
    assert debit.counterparty_bic == "SOLADEST600"
    assert debit.counterparty_name == "NIC RICHTER"
    assert debit.statement.account_number == "12345678/1324357"


def test_mt940_with_wrapped_tag_and_amount_from_a_sparkasse_export(corpus: Path) -> None:
    [line] = parse(corpus / "wolph-mt940-sparkassen.sta")

    assert line.amount_cents == 3000
    assert line.remittance_text == "Test"
    assert line.currency == ""  # the file has no balance, so it names no currency at all
