"""Hostile and broken files: a clear German error, nothing else, and nothing expanded or fetched."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from rathauskasse.reconciliation.lines import StatementError
from rathauskasse.reconciliation.parsers import MAX_STATEMENT_BYTES, parse
from rathauskasse.reconciliation.parsers.camt import parse_camt
from tests.reconciliation.camtfiles import Entry, camt

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"><BkToCstmrStmt><Stmt>
<Id>&lol9;</Id></Stmt></BkToCstmrStmt></Document>
"""


def _xxe(target: str) -> bytes:
    return (
        b'<?xml version="1.0"?>\n<!DOCTYPE d [<!ENTITY xxe SYSTEM "' + target.encode() + b'">]>\n'
        b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"><BkToCstmrStmt>'
        b"<Stmt><Id>&xxe;</Id></Stmt></BkToCstmrStmt></Document>"
    )


def test_a_billion_laughs_file_is_refused_before_anything_expands() -> None:
    with pytest.raises(StatementError, match="DOCTYPE- oder ENTITY-Deklaration"):
        list(parse(BILLION_LAUGHS))


@pytest.mark.parametrize("target", ["file:///etc/passwd", "http://127.0.0.1:9/x"])
def test_an_xxe_attempt_is_refused_and_reads_no_file_and_no_url(target: str) -> None:
    with pytest.raises(StatementError, match="DOCTYPE") as caught:
        list(parse(_xxe(target)))
    assert "root:" not in caught.value.message


def test_a_doctype_split_across_two_read_chunks_is_still_found() -> None:
    data = b"<!--" + b"x" * (65536 - 8) + b"--><!DOCTYPE d><Document/>"
    assert data.index(b"<!DOCTYPE") < 65536 < data.index(b"<!DOCTYPE") + 9

    with pytest.raises(StatementError, match="DOCTYPE"):
        list(parse_camt(io.BytesIO(data)))


@pytest.mark.parametrize("cut", [0.2, 0.5, 0.9, 0.999])
def test_a_truncated_xml_file_is_a_clear_error(cut: float) -> None:
    data = camt(Entry(), Entry(), Entry())
    truncated = data[: int(len(data) * cut)]

    with pytest.raises(StatementError, match="beschädigt oder unvollständig"):
        list(parse(truncated))


def test_xml_that_is_not_a_statement_is_refused() -> None:
    with pytest.raises(StatementError, match="kein Kontoauszug im camt-Format"):
        list(parse(b'<?xml version="1.0"?><Document><pain.001/></Document>'))


def test_a_2_gb_file_is_refused_by_its_size_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "huge.xml"
    with path.open("wb") as handle:
        handle.truncate(2 * 1024**3)  # sparse: takes no disk space

    with pytest.raises(StatementError, match=r"größer als 200 MB"):
        list(parse(path))
    with path.open("rb") as handle:
        with pytest.raises(StatementError, match="größer"):
            list(parse(handle))
        assert handle.tell() == 0  # not a byte read


class _Unseekable(io.RawIOBase):
    """A pipe-like stream: no size, no seek; the limit must be counted while reading."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        chunk = self._data.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)


def test_a_stream_without_a_size_is_cut_off_at_the_limit() -> None:
    data = camt(*[Entry() for _ in range(200)])
    assert len(data) > 50_000

    with pytest.raises(StatementError, match="größer als"):
        list(parse(io.BufferedReader(_Unseekable(data)), max_bytes=40_000))
    assert len(list(parse(io.BufferedReader(_Unseekable(data))))) == 200


def test_the_limit_is_generous_for_real_statements() -> None:
    assert MAX_STATEMENT_BYTES >= 100 * 1024 * 1024


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "leer"),
        (b"   \n\n", "leer"),
        (b"PK\x03\x04 zip", "nicht erkannt"),
        (b"\xff\xfe<\x00D\x00", "nicht erkannt"),
    ],
)
def test_files_that_are_nothing_get_a_german_message(data: bytes, message: str) -> None:
    with pytest.raises(StatementError, match=message):
        list(parse(data))


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(StatementError, match=r"Die Datei nichts\.sta gibt es nicht"):
        list(parse(tmp_path / "nichts.sta"))
