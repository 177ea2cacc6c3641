"""The format comes from the content, never from the file name."""

from __future__ import annotations

from pathlib import Path

import pytest

from rathauskasse.reconciliation.lines import StatementError
from rathauskasse.reconciliation.parsers import detect, parse
from rathauskasse.reconciliation.parsers.csv import CsvProfile
from tests.reconciliation.camtfiles import camt
from tests.reconciliation.conftest import corpus_files


@pytest.mark.parametrize("path", corpus_files(".xml", ".sta"), ids=lambda p: p.name)
def test_every_corpus_file_is_detected_from_its_first_bytes(path: Path) -> None:
    head = path.read_bytes()[:65536]

    expected = "mt940" if path.suffix == ".sta" else "camt.05" + path.name.split("camt05")[1][0]
    assert detect(head).startswith(expected)


def test_a_camt_file_named_sta_is_still_camt(tmp_path: Path) -> None:
    path = tmp_path / "auszug.sta"
    path.write_bytes(camt(kind="054"))

    assert detect(path.read_bytes()) == "camt.054"
    assert next(iter(parse(path))).statement.format == "camt.054.001.08"


@pytest.mark.parametrize(
    "head",
    [
        b"\xef\xbb\xbf<?xml version='1.0'?><Document><BkToCstmrAcctRpt>",
        b"\r\n\r\n  <Document><BkToCstmrStmt>",
    ],
)
def test_a_bom_or_leading_whitespace_does_not_hide_xml(head: bytes) -> None:
    assert detect(head).startswith("camt.05")


@pytest.mark.parametrize(
    "head",
    [
        b":20:STARTUMS\r\n:25:12345678/1234\r\n",
        b"{1:F01BANKDEFFAXXX0000000000}{2:O9400000000000}{4:\r\n:20:X\r\n",
        b"\r\n:20:STARTUMS\n",
    ],
)
def test_mt940_with_or_without_swift_envelope(head: bytes) -> None:
    assert detect(head) == "mt940"


def test_a_csv_file_is_csv_only_with_a_profile_or_a_known_header() -> None:
    sparkasse = b'"Auftragskonto";"Buchungstag";"Valutadatum";"Betrag"\r\n'
    other = b"Datum;Betrag;Text\r\n"
    profile = CsvProfile(name="x", booking_date="Datum", amount="Betrag")

    assert detect(sparkasse) == "csv"
    assert detect(other, csv_profile=profile) == "csv"
    with pytest.raises(StatementError, match="nicht erkannt"):
        detect(other)
