"""Bank statement files to `StatementLine`s: camt.052/053/054, MT940 and CSV profiles.

`parse` is the one entry point: it takes bytes, a path or a binary file object, finds the format
from the content (never from the file name), refuses a file above `MAX_STATEMENT_BYTES` before
reading it, and yields lines as it reads, so memory does not grow with the file. Whatever is
wrong with a file, the caller gets a `StatementError` with a German message naming the place;
any other exception escaping from here is a bug.

Streaming means lines come out before the end of the file is read: a file that turns out to be
truncated raises after some lines were yielded. An importer that must be all or nothing collects
the lines (or works inside one transaction) and discards them on the error.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from rathauskasse.reconciliation.lines import StatementError, StatementLine
from rathauskasse.reconciliation.parsers.camt import parse_camt
from rathauskasse.reconciliation.parsers.csv import BUILTIN_PROFILES, CsvProfile, parse_csv
from rathauskasse.reconciliation.parsers.mt940 import parse_mt940

__all__ = [
    "BUILTIN_PROFILES",
    "DETECT_BYTES",
    "MAX_STATEMENT_BYTES",
    "CsvProfile",
    "detect",
    "parse",
]

#: A day's statement of a large city's main account is a few MB; 200 MiB leaves room for years
#: of camt.053 in one file and still refuses a 2 GB upload before a byte of it is parsed.
MAX_STATEMENT_BYTES = 200 * 1024 * 1024
#: How much of the start of a file `detect` looks at.
DETECT_BYTES = 64 * 1024

_BOMS = (b"\xef\xbb\xbf",)
_CAMT_MESSAGES = {
    b"BkToCstmrAcctRpt": "camt.052",
    b"BkToCstmrStmt": "camt.053",
    b"BkToCstmrDbtCdtNtfctn": "camt.054",
}
_MT940_START = re.compile(rb"\A(?:\{1:[^}]*\}(?:\{[^{}]*\})*\{4:\s*)?:\d{2}[A-Z]?:")
_MT940_TAGS = re.compile(rb"(?m)^:(?:20|25|28C?|60[FM]|61|62[FM]|86):")


def _strip_head(head: bytes) -> bytes:
    for bom in _BOMS:
        if head.startswith(bom):
            head = head[len(bom) :]
    return head.lstrip(b" \t\r\n")


def detect(head: bytes, *, csv_profile: CsvProfile | None = None) -> str:
    """The format of a file from its first bytes: "camt.052", "camt.053", "camt.054", "mt940"
    or "csv" (the latter only with a profile, or when a built-in profile's header matches).
    """
    stripped = _strip_head(head)
    if stripped.startswith(b"<"):
        for marker, name in _CAMT_MESSAGES.items():
            if marker in stripped:
                return name
        raise StatementError(
            "Die XML-Datei ist kein Kontoauszug im camt-Format (camt.052, camt.053 oder camt.054)."
        )
    if _MT940_START.match(stripped) or (
        b":61:" in stripped and len(_MT940_TAGS.findall(stripped)) >= 2
    ):
        return "mt940"
    if csv_profile is not None or any(profile.matches(head) for profile in BUILTIN_PROFILES):
        return "csv"
    raise StatementError(
        "Das Dateiformat ist nicht erkannt: erwartet wird ein Kontoauszug als camt.052, camt.053, "
        "camt.054, MT940 oder eine CSV-Datei mit bekanntem Profil."
    )


class _Limited(io.RawIOBase):
    """A read-only view of a stream that refuses to go past the size limit."""

    def __init__(self, head: bytes, stream: IO[bytes], limit: int) -> None:
        self._head = head
        self._stream = stream
        self._limit = limit
        self._read = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        want = len(buffer)
        if self._head:
            data, self._head = self._head[:want], self._head[want:]
        else:
            data = self._stream.read(want)
        self._read += len(data)
        if self._read > self._limit:
            raise _too_large(self._limit)
        buffer[: len(data)] = data
        return len(data)


def _too_large(limit: int) -> StatementError:
    return StatementError(
        f"Die Datei ist größer als {limit // (1024 * 1024)} MB und wird nicht gelesen.",
        limit=limit,
    )


def _why(exc: OSError) -> str:
    if isinstance(exc, FileNotFoundError):
        return "gibt es nicht"
    if isinstance(exc, IsADirectoryError):
        return "ist ein Verzeichnis"
    if isinstance(exc, PermissionError):
        return "darf nicht gelesen werden"
    return "lässt sich nicht lesen"


def _size_of(stream: IO[bytes]) -> int | None:
    try:
        return os.fstat(stream.fileno()).st_size
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        pass
    try:
        position = stream.tell()
        end = stream.seek(0, os.SEEK_END)
        stream.seek(position)
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        return None
    return end - position


def parse(
    data: bytes | str | os.PathLike[str] | IO[bytes],
    *,
    csv_profile: CsvProfile | None = None,
    max_bytes: int = MAX_STATEMENT_BYTES,
) -> Iterator[StatementLine]:
    """Every line of a statement file, in file order."""
    if isinstance(data, bytes | bytearray | memoryview):
        if len(data) > max_bytes:
            raise _too_large(max_bytes)
        yield from _parse_stream(io.BytesIO(bytes(data)), csv_profile, max_bytes)
        return
    if isinstance(data, str | os.PathLike):
        path = Path(data)
        try:
            size = path.stat().st_size
            if size > max_bytes:
                raise _too_large(max_bytes)
            stream = path.open("rb")
        except OSError as exc:
            raise StatementError(f"Die Datei {path.name} {_why(exc)}.") from exc
        with stream:
            yield from _parse_stream(stream, csv_profile, max_bytes)
        return
    yield from _parse_stream(data, csv_profile, max_bytes)


def _parse_stream(
    stream: IO[bytes], csv_profile: CsvProfile | None, max_bytes: int
) -> Iterator[StatementLine]:
    size = _size_of(stream)
    if size is not None and size > max_bytes:
        raise _too_large(max_bytes)
    try:
        head = stream.read(DETECT_BYTES)
    except OSError as exc:
        raise StatementError(f"Die Datei {_why(exc)}.") from exc
    if not isinstance(head, bytes):
        raise StatementError("Die Datei muss als Bytes gelesen werden, nicht als Text.")
    if not head.strip():
        raise StatementError("Die Datei ist leer.")
    kind = detect(head, csv_profile=csv_profile)
    limited = io.BufferedReader(_Limited(head, stream, max_bytes), buffer_size=1 << 16)
    try:
        if kind.startswith("camt"):
            yield from parse_camt(limited)
        elif kind == "mt940":
            yield from parse_mt940(limited)
        else:
            yield from parse_csv(limited, profile=csv_profile, head=head)
    except OSError as exc:
        raise StatementError(f"Die Datei {_why(exc)}.") from exc
