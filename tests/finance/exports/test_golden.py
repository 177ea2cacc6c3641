"""Golden files: each preset writes exactly these bytes for the same records.

The records cover every kind, both signs, umlauts, a text longer than Infoma's 27 characters,
missing budget data and a character that Windows-1252 and ISO-8859-15 lack. To accept a deliberate
change of a preset, run with UPDATE_GOLDEN=1 and review the diff of tests/finance/golden/.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

from rathauskasse.finance import exports, presets

GOLDEN = Path(__file__).resolve().parents[1] / "golden"

RECORDS = [
    # line, entry, cents, date, kind, text, reference, kz, debtor account, name, purpose,
    # budget line, product, account, cost centre, method, provider
    (
        101,
        51,
        3070,
        dt.date(2026, 11, 30),
        "receivable_created",
        "Sollstellung 260000013 Hundesteuer",
        "receivable:7",
        "260000013",
        "700123",
        "Jürgen Müller",
        "Hundesteuer 2027",
        "611010.401300",
        "12.2.01",
        "432100",
        "1200",
        None,
        None,
    ),
    (
        102,
        52,
        -3070,
        dt.date(2026, 11, 30),
        "payment",
        "Zahlung sandbox 260000013 Grundbesitzabgaben Straßenreinigung",
        "payment:4c1e",
        "260000013",
        "700123",
        "Jürgen Müller",
        "Hundesteuer 2027",
        "611010.401300",
        "12.2.01",
        "432100",
        "1200",
        "card",
        "sandbox",
    ),
    (
        103,
        53,
        1000,
        dt.date(2026, 12, 1),
        "refund",
        "Erstattung Łódź-Gebühr € 10",
        "payment:4c1e",
        "260000013",
        "",
        "Jürgen Müller",
        "Hundesteuer 2027",
        "611010.401300",
        "12.2.01",
        "432100",
        "1200",
        "card",
        "sandbox",
    ),
    (
        104,
        54,
        123456789,
        dt.date(2026, 12, 1),
        "reversal",
        'Rücklastschrift; "MD06"',
        "payment:9a2b",
        "270001234",
        None,
        "Öztürk; Ayşe",
        "Müllgebühren",
        None,
        None,
        None,
        None,
        "sepa_debit",
        "sandbox",
    ),
    (
        105,
        55,
        -5,
        dt.date(2026, 12, 1),
        "receivable_cancelled",
        "Storno 260000021: doppelt",
        "receivable:8",
        "260000021",
        "",
        "Erika Mustermann",
        "Parkausweis",
        "1.2.3",
        "",
        "",
        "",
        None,
        None,
    ),
]


@pytest.mark.parametrize("name", sorted(presets.PRESETS))
def test_preset_writes_its_golden_file(name: str) -> None:
    spec = exports.Spec.of(presets.fields(name))
    assert exports.check(spec) == {}
    records = [r for r in RECORDS if r[4] in spec.record_kinds]
    data = b"".join(chunk for chunk, _ in exports.write(spec, [records[:2], records[2:]]))
    golden = GOLDEN / f"{name}.{'jsonl' if name == 'jsonl' else 'txt'}"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_bytes(data)
    assert data == golden.read_bytes()


def test_the_infoma_preset_writes_what_infoma_reads() -> None:
    spec = exports.Spec.of(presets.fields("infoma-zahlungseingaenge"))
    data = b"".join(chunk for chunk, _ in exports.write(spec, [RECORDS[1:4]]))
    lines = data.decode("cp1252").split("\r\n")
    assert lines[0].startswith("Kassenzeichen;Betrag;Buchungsdatum;Valuta;Zahlweg")
    # a payment received is positive, money paid back negative; decimal comma
    assert lines[1].startswith("260000013;30,70;30.11.2026;30.11.2026;card;12.2.01;432100;1200;")
    assert lines[2].startswith("260000013;-10,00;01.12.2026;")
    # the booking text: at most 27 characters, upper case, German letters spelt out
    texts = [line.rsplit(";", 1)[1] for line in lines[1:-1]]
    assert texts[0] == "ZAHLUNG SANDBOX 260000013 G"
    assert texts[1] == "ERSTATTUNG LODZ-GEBUEHR  10"
    assert texts[2] == "RUECKLASTSCHRIFT   MD06 "
    assert all(len(text) <= 27 and text == text.upper() for text in texts)


def test_the_sap_flat_file_has_one_width_for_every_record() -> None:
    spec = exports.Spec.of(presets.fields("sap-flat"))
    data = b"".join(chunk for chunk, _ in exports.write(spec, [RECORDS]))
    lines = data.split(b"\r\n")[:-1]
    width = sum(column.width for column in spec.columns)
    assert {len(line) for line in lines} == {width}
    # unsigned amounts, right-aligned with zeros, and the debit/credit indicator before them
    assert lines[3][:44] == b"120261201270001234" + b" " * 26
    assert lines[3][44:63] == b"S000001234567.89EUR"
    assert lines[4][44:63] == b"H000000000000.05EUR"
    # what the code page lacks becomes its plain letter: ó is in ISO-8859-15, Ł and ź are not
    assert "Łódź".encode("iso-8859-15", "rathauskasse_transliterate") == b"L\xf3dz"
