"""The GiroCode payload (EPC069-12) against the known-good examples and the standard's rules."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from rathauskasse.core import epcqr, qr

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "epc-qr" / "examples.json"


def _examples() -> dict[str, dict[str, object]]:
    if not CORPUS.is_file():
        pytest.fail(f"the EPC QR corpus is missing: {CORPUS}")
    return {e["id"]: e for e in json.loads(CORPUS.read_text(encoding="utf-8"))}


def _transfer(lines: list[str], *, amount: str) -> epcqr.Transfer:
    """The Transfer whose payload the corpus line list is (amount given in cents)."""
    padded = [*lines, *[""] * (12 - len(lines))]
    return epcqr.Transfer(
        version=padded[1],
        charset=int(padded[2]),
        bic=padded[4],
        name=padded[5],
        iban=padded[6],
        amount_cents=int(amount) if amount else None,
        purpose=padded[8],
        reference=padded[9],
        text=padded[10],
        information=padded[11],
    )


# The examples our encoder reproduces byte for byte, with their amounts in cents. Charset 2
# (ISO-8859-1) and version 001 are written too: the encoder knows every character set and both
# versions, although notices always use 002 and UTF-8.
REPRODUCED = {
    "epc069-12-v2.1-example1-structured-via-segno": "1230",
    "epc069-12-v2.1-example2-unstructured-via-segno": "1230",
    "segno-docs-wikimedia-latin1": "2000",
    "segno-docs-wikimedia-utf8": "1305",
    "wikipedia-red-cross-belgium-v001": "100",
}


@pytest.mark.parametrize("example_id", sorted(REPRODUCED))
def test_the_corpus_payloads_are_reproduced_byte_for_byte(example_id: str) -> None:
    example = _examples()[example_id]
    payload = str(example["payload"])
    transfer = _transfer(payload.split("\n"), amount=REPRODUCED[example_id])
    encoded = epcqr.encode(transfer)
    assert encoded == payload.encode(str(example["encoding"]))
    assert len(encoded) == example["bytes"]
    assert len(payload.split("\n")) == example["lines"]


def test_the_structure_only_example_is_refused_for_its_iban() -> None:
    # sepa-qr-data-php's expected string has the IBAN "ABC": right structure, no real IBAN.
    example = _examples()["sepa-qr-data-php-testEncodeMessage"]
    lines = str(example["payload"]).split("\n")
    with pytest.raises(epcqr.InvalidTransfer, match="IBAN"):
        epcqr.payload(_transfer(lines, amount="107525"))
    valid = _transfer([*lines[:6], "DE02120300000000202051", *lines[7:]], amount="107525")
    assert epcqr.payload(valid) == str(example["payload"]).replace("ABC", "DE02120300000000202051")


def test_the_lenient_example_is_refused() -> None:
    lines = str(_examples()["lenient-derhuerst-sepa-payment-qr-code"]["payload"]).split("\n")
    with pytest.raises(epcqr.InvalidTransfer):
        epcqr.payload(_transfer(lines, amount="12345"))


BASE = epcqr.Transfer(name="Stadtkasse Musterstadt", iban="DE02120300000000202051")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"amount_cents": 0}, "Betrag"),
        ({"amount_cents": 100_000_000_000}, "Betrag"),
        ({"bic": "BHBLDE"}, "BIC"),
        ({"bic": "BHBLDEHHXXXX"}, "BIC"),
        ({"bic": "BHBLDEHHXX"}, "BIC"),
        ({"name": ""}, "Name"),
        ({"name": "a" * 71}, "Name"),
        ({"text": "a" * 141}, "Verwendungszweck"),
        ({"reference": "R" * 36}, "Referenz"),
        ({"reference": "RF18539007547035"}, "Referenz"),
        ({"purpose": "DE1"}, "Zweck"),
        ({"purpose": "CDCBC"}, "Zweck"),
        ({"reference": "RF18539007547034", "text": "Kassenzeichen"}, "nie beides"),
        ({"charset": 0}, "Zeichensatz"),
        ({"charset": 9}, "Zeichensatz"),
        ({"version": "003"}, "Version"),
        ({"version": "001"}, "BIC"),
        ({"information": "a" * 71}, "Hinweis"),
        ({"iban": "DE02120300000000202052"}, "IBAN"),
    ],
)
def test_what_the_standard_forbids_is_refused(changes: dict[str, object], message: str) -> None:
    with pytest.raises(epcqr.InvalidTransfer, match=message):
        epcqr.payload(dataclasses.replace(BASE, **changes))  # type: ignore[arg-type]


def test_nothing_follows_the_last_filled_line_and_empty_lines_before_it_stay() -> None:
    assert (
        epcqr.payload(BASE) == "BCD\n002\n1\nSCT\n\nStadtkasse Musterstadt\nDE02120300000000202051"
    )
    with_info = dataclasses.replace(BASE, information="Hundesteuer")
    assert epcqr.payload(with_info).endswith("DE02120300000000202051\n\n\n\n\nHundesteuer")


def test_amounts_are_written_short_and_exact() -> None:
    assert [epcqr.amount_text(c) for c in (1, 10, 1230, 2000, 3070, 99_999_999_999)] == [
        "0.01",
        "0.1",
        "12.3",
        "20",
        "30.7",
        "999999999.99",
    ]


def test_more_than_331_bytes_is_refused() -> None:
    # 70 three-byte characters in the name and in line 12 need more than 331 bytes.
    heavy = dataclasses.replace(BASE, name="ễ" * 70, information="ễ" * 70)
    with pytest.raises(epcqr.InvalidTransfer, match="331"):
        epcqr.payload(heavy)


def test_the_qr_code_is_level_m_and_at_most_version_13() -> None:
    longest = dataclasses.replace(BASE, name="N" * 70, text="T" * 140, information="I" * 70)
    modules = epcqr.qr_code(longest)
    assert 1 <= qr.version(modules) <= 13


def test_transfer_texts_keep_german_letters_and_lose_other_marks() -> None:
    assert epcqr.sepa_text("Stadtkasse Köln – Gebühren") == "Stadtkasse Köln - Gebühren"
    assert epcqr.sepa_text("Urząd Miasta Łodzi") == "Urzad Miasta Lodzi"
    assert epcqr.sepa_text("Şükrü Yılmaz, İzmir") == "Sükrü Yilmaz, Izmir"  # ü is German, too
    assert epcqr.sepa_text("Nguyễn Thị Hương") == "Nguyen Thi Huong"
    assert epcqr.sepa_text("Müller & Söhne #1 <GmbH>") == "Müller & Söhne 1 GmbH"
    assert all(c in epcqr.SEPA_CHARACTERS for c in epcqr.sepa_text("Đặng Văn Lâm – Ærø ß"))
