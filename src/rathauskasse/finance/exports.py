"""The export file writer: a profile's settings as plain data, their check, and the formatter.

A record is one line on the receivables account (a movement of an open item) with what the
finance system books it by: Kassenzeichen, budget line parts, debtor account, payment method.
`RECORD_FIELDS` names the values of a record tuple in the order the export query returns them.

Nothing here touches the database: `check` says why settings would lose data (so a profile that
would is refused when it is saved), and `Writer` turns record tuples into encoded bytes, chunk by
chunk, so an export of millions of records never holds more than one chunk in memory.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import json
import re
import string
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

# --- records -------------------------------------------------------------------------------------

#: The values of a record tuple, in the order of `finance.selectors.export_records`.
RECORD_FIELDS = (
    "line_id",
    "entry_id",
    "amount_cents",  # on the receivables account: debit (Soll) positive
    "booking_date",
    "record_kind",
    "booking_text",
    "reference",
    "kassenzeichen",
    "debtor_account",
    "debtor_name",
    "purpose",
    "budget_line",
    "product",
    "gl_account",
    "cost_centre",
    "payment_method",
    "provider",
)
_AT = {name: index for index, name in enumerate(RECORD_FIELDS)}

RECORD_KINDS = {
    "payment": "Zahlungseingang",
    "refund": "Erstattung",
    "reversal": "Rückbuchung / Storno einer Zahlung oder Erstattung",
    "receivable_created": "Sollstellung (auch Mahngebühr)",
    "receivable_cancelled": "Storno einer Sollstellung",
}

#: Largest amount a file must be able to show: 99,999,999,999.99 EUR (15 characters with sign).
MAX_AMOUNT_CENTS = 9_999_999_999_999


@dataclass(frozen=True, slots=True)
class Source:
    """A value a column can show: where it comes from and how long it can get."""

    name: str
    label: str
    kind: str  # text, amount, date, integer, constant
    max_length: int = 0
    field: str = ""  # the record field it reads; "" for computed values


SOURCES: dict[str, Source] = {
    s.name: s
    for s in (
        Source("kassenzeichen", "Kassenzeichen", "text", 35, "kassenzeichen"),
        Source("amount", "Betrag", "amount"),
        Source("booking_date", "Buchungsdatum", "date"),
        Source("value_date", "Wertstellung", "date"),
        Source("record_kind", "Satzart (Schlüssel)", "text", 20, "record_kind"),
        Source("record_kind_label", "Satzart (Text)", "text", 50),
        Source("debit_credit", "Soll/Haben-Kennzeichen (S/H)", "text", 1),
        Source("payment_method", "Zahlart", "text", 20, "payment_method"),
        Source("provider", "Zahlungsdienst", "text", 40, "provider"),
        Source("budget_line", "Haushaltsstelle", "text", 50, "budget_line"),
        Source("product", "Produkt", "text", 30, "product"),
        Source("gl_account", "Sachkonto", "text", 30, "gl_account"),
        Source("cost_centre", "Kostenstelle", "text", 30, "cost_centre"),
        Source("debtor_account", "Personenkonto", "text", 30, "debtor_account"),
        Source("debtor_name", "Name des Schuldners", "text", 200, "debtor_name"),
        Source("booking_text", "Buchungstext", "text", 200, "booking_text"),
        Source("purpose", "Zweck der Forderung", "text", 140, "purpose"),
        Source("reference", "Bezug (Zahlung oder Forderung)", "text", 100, "reference"),
        Source("entry_id", "Buchungsnummer", "integer", 19, "entry_id"),
        Source("line_id", "Buchungszeilennummer", "integer", 19, "line_id"),
        Source("currency", "Währung", "text", 3),
        Source("constant", "fester Wert", "constant"),
    )
}
#: Without these the finance system cannot book a record.
REQUIRED_SOURCES = ("kassenzeichen", "amount", "booking_date")

FILE_FORMATS = {
    "separated": "mit Trennzeichen (CSV)",
    "fixed": "feste Satzlänge",
    "jsonl": "JSON Lines",
}
SIGNS = {
    "debit_positive": "Soll positiv (Sollstellung +, Zahlungseingang −)",
    "credit_positive": "Haben positiv (Zahlungseingang +, Sollstellung −)",
    "unsigned": "ohne Vorzeichen (Soll/Haben in eigener Spalte)",
}
AMOUNT_FORMATS = {"decimal": "Euro mit zwei Nachkommastellen", "cents": "ganze Cent"}
QUOTING = {"minimal": "nur wo nötig", "all": "jedes Feld"}
ENCODINGS = {"utf-8": "UTF-8", "cp1252": "Windows-1252 (ANSI)", "iso-8859-15": "ISO-8859-15"}
LINE_ENDINGS = {"\r\n": "CR LF (Windows)", "\n": "LF (Unix)"}
DATE_FORMATS = ("%d.%m.%Y", "%d.%m.%y", "%Y-%m-%d", "%Y%m%d", "%d/%m/%Y", "%d%m%Y")
FILENAME_FIELDS = ("profile", "number", "until", "created")

_SAMPLE_DATE = dt.date(2026, 12, 31)


@dataclass(frozen=True, slots=True)
class ColumnSpec:
    source: str
    header: str = ""
    #: Cut the text to this many characters (the finance system's field length); 0: never.
    max_length: int = 0
    #: Width in a fixed-width file (required there, ignored elsewhere).
    width: int = 0
    align: str = "left"  # left | right
    pad: str = " "
    #: Upper case, German letters spelt out (Ä → AE, ß → SS), only characters every system reads.
    upper: bool = False
    value: str = ""  # for source "constant"

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> ColumnSpec:
        known = {name: data[name] for name in cls.__slots__ if name in data}
        return cls(**known)

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}


@dataclass(frozen=True, slots=True)
class Spec:
    """Everything the writer reads from a profile (a version keeps it as `settings`)."""

    name: str
    record_kinds: tuple[str, ...]
    columns: tuple[ColumnSpec, ...]
    file_format: str = "separated"
    delimiter: str = ";"
    quote_char: str = '"'
    quoting: str = "minimal"
    include_header: bool = True
    encoding: str = "utf-8"
    line_ending: str = "\r\n"
    decimal_separator: str = ","
    amount_format: str = "decimal"
    sign: str = "debit_positive"
    date_format: str = "%d.%m.%Y"
    filename_pattern: str = "{profile}-{number}.csv"

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> Spec:
        values = {name: data[name] for name in cls.__slots__ if name in data}
        values["record_kinds"] = tuple(data.get("record_kinds", ()))
        values["columns"] = tuple(ColumnSpec.of(c) for c in data.get("columns", ()))
        return cls(**values)

    def as_dict(self) -> dict[str, Any]:
        data = {name: getattr(self, name) for name in self.__slots__}
        data["record_kinds"] = list(self.record_kinds)
        data["columns"] = [column.as_dict() for column in self.columns]
        return data

    def filename(self, *, number: int, until: dt.date, created: dt.datetime) -> str:
        return self.filename_pattern.format(
            profile=self.name, number=number, until=until, created=created
        )


# --- the check -----------------------------------------------------------------------------------


def _amount_width(spec: Spec) -> int:
    digits = len(str(MAX_AMOUNT_CENTS))
    body = digits if spec.amount_format == "cents" else digits + 1  # the decimal separator
    return body + (0 if spec.sign == "unsigned" else 1)


def value_length(spec: Spec, column: ColumnSpec) -> int:
    """The longest value the column can hold (before padding)."""
    source = SOURCES[column.source]
    if source.kind == "amount":
        return _amount_width(spec)
    if source.kind == "date":
        return len(_SAMPLE_DATE.strftime(spec.date_format))
    length = len(column.value) if source.kind == "constant" else source.max_length
    if column.max_length:
        length = min(length, column.max_length)
    return length


def check(spec: Spec) -> dict[str, list[str]]:
    """Every reason why these settings would lose or garble data; empty when they are fine."""
    errors: dict[str, list[str]] = {}

    def refuse(where: str, message: str) -> None:
        errors.setdefault(where, []).append(message)

    if not spec.record_kinds:
        refuse("record_kinds", "Wählen Sie mindestens eine Satzart.")
    for kind in spec.record_kinds:
        if kind not in RECORD_KINDS:
            refuse("record_kinds", f"Unbekannte Satzart „{kind}“.")
    for name, allowed in (
        ("file_format", FILE_FORMATS),
        ("sign", SIGNS),
        ("amount_format", AMOUNT_FORMATS),
        ("quoting", QUOTING),
        ("encoding", ENCODINGS),
        ("line_ending", LINE_ENDINGS),
    ):
        if getattr(spec, name) not in allowed:
            refuse(name, f"Unbekannter Wert „{getattr(spec, name)}“.")
    if spec.date_format not in DATE_FORMATS:
        refuse("date_format", f"Unbekanntes Datumsformat „{spec.date_format}“.")
    if errors:
        return errors
    if spec.decimal_separator not in {",", "."}:
        refuse("decimal_separator", "Dezimaltrennzeichen ist Komma oder Punkt.")
    if spec.file_format == "separated":
        if len(spec.delimiter) != 1 or len(spec.quote_char) != 1:
            refuse("delimiter", "Trennzeichen und Textbegrenzer sind je ein Zeichen.")
        elif spec.delimiter == spec.quote_char:
            refuse("quote_char", "Textbegrenzer und Trennzeichen müssen verschieden sein.")
    _check_columns(spec, refuse)
    _check_filename(spec, refuse)
    return errors


def _check_columns(spec: Spec, refuse: Callable[[str, str], None]) -> None:
    if not spec.columns:
        refuse("columns", "Das Profil braucht Spalten.")
        return
    sources = [column.source for column in spec.columns]
    for position, column in enumerate(spec.columns, start=1):
        where = f"Spalte {position}"
        source = SOURCES.get(column.source)
        if source is None:
            refuse("columns", f"{where}: unbekannte Quelle „{column.source}“.")
            continue
        if column.align not in {"left", "right"} or len(column.pad) != 1:
            refuse("columns", f"{where}: Ausrichtung ist links oder rechts, Füllzeichen eins.")
        if column.max_length < 0 or column.width < 0:
            refuse("columns", f"{where}: Längen sind nicht negativ.")
        if column.max_length and source.kind in {"amount", "date", "integer"}:
            refuse(
                "columns",
                f"{where} ({source.label}): Beträge, Daten und Nummern werden nicht gekürzt.",
            )
        if spec.file_format == "fixed":
            needed = value_length(spec, column)
            if not column.width:
                refuse(
                    "columns",
                    f"{where} ({source.label}): Bei fester Satzlänge braucht "
                    "jede Spalte eine Breite.",
                )
            elif column.width < needed:
                what = (
                    f"Beträge bis {MAX_AMOUNT_CENTS // 100:,} Euro".replace(",", ".")
                    if source.kind == "amount"
                    else "der längste Wert"
                )
                refuse(
                    "columns",
                    f"{where} ({source.label}): {what} braucht {needed} Zeichen, die Spalte ist "
                    f"{column.width} breit. Verbreitern Sie sie"
                    + (
                        " oder geben Sie eine Höchstlänge an, auf die gekürzt wird."
                        if source.kind == "text"
                        else "."
                    ),
                )
        elif (spec.file_format == "jsonl" or spec.include_header) and not column.header.strip():
            refuse("columns", f"{where} ({source.label}): Die Spalte braucht einen Namen.")
        for text in (column.header, column.value):
            if not _encodable(text, spec.encoding):
                refuse(
                    "columns",
                    f"{where}: „{text}“ lässt sich in {ENCODINGS[spec.encoding]} nicht schreiben.",
                )
    headers = [c.header.strip() for c in spec.columns if c.header.strip()]
    if spec.file_format == "jsonl" and len(set(headers)) != len(headers):
        refuse("columns", "Jeder Name kommt in JSON Lines nur einmal vor.")
    for required in REQUIRED_SOURCES:
        if required not in sources:
            refuse(
                "columns",
                f"Ohne die Spalte „{SOURCES[required].label}“ kann das Finanzverfahren die Sätze "
                "nicht buchen.",
            )
    if spec.sign == "unsigned" and not {"debit_credit", "record_kind", "record_kind_label"} & set(
        sources
    ):
        refuse(
            "sign",
            "Ohne Vorzeichen unterscheidet nur eine Spalte „Soll/Haben-Kennzeichen“ (oder die "
            "Satzart) einen Zahlungseingang von einer Rückbuchung; nehmen Sie eine auf.",
        )


def _check_filename(spec: Spec, refuse: Callable[[str, str], None]) -> None:
    pattern = spec.filename_pattern
    try:
        fields = {name for _, name, _, _ in string.Formatter().parse(pattern) if name is not None}
    except ValueError:
        refuse("filename_pattern", "Geschweifte Klammern sind nicht ausgeglichen.")
        return
    unknown = fields - set(FILENAME_FIELDS)
    if unknown:
        refuse(
            "filename_pattern",
            f"Unbekannte Platzhalter: {', '.join(sorted(unknown))}; erlaubt sind "
            + ", ".join(f"{{{name}}}" for name in FILENAME_FIELDS)
            + ".",
        )
        return
    try:
        sample = spec.filename(
            number=1, until=_SAMPLE_DATE, created=dt.datetime(2026, 12, 31, 6, tzinfo=dt.UTC)
        )
    except (ValueError, AttributeError, KeyError, IndexError) as exc:
        refuse("filename_pattern", f"Das Muster lässt sich nicht anwenden: {exc}.")
        return
    if not sample or "/" in sample or "\\" in sample or sample.startswith("."):
        refuse("filename_pattern", "Ein Dateiname ohne Verzeichnis, der nicht mit . beginnt.")
    elif not re.fullmatch(r"[\w.\- ]+", sample):
        refuse("filename_pattern", "Nur Buchstaben, Ziffern, Punkt, Binde- und Unterstrich.")


def _encodable(text: str, encoding: str) -> bool:
    try:
        text.encode(encoding)
    except UnicodeEncodeError:
        return False
    return True


# --- formatting ----------------------------------------------------------------------------------

#: Letters NFKD does not take apart into a plain letter and an accent.
_PLAIN = {
    "Ł": "L",
    "ł": "l",
    "Ø": "O",
    "ø": "o",
    "Đ": "D",
    "đ": "d",
    "Æ": "AE",
    "æ": "ae",
    "Œ": "OE",
    "œ": "oe",
    "ı": "i",
    "Þ": "TH",
    "þ": "th",
}
_SPELT_OUT = str.maketrans(
    {"Ä": "AE", "Ö": "OE", "Ü": "UE", "ä": "AE", "ö": "OE", "ü": "UE", "ß": "SS", "ẞ": "SS"}
)
_PLAIN_TABLE = str.maketrans(_PLAIN)
_NOT_SAFE = re.compile(r"[^A-Z0-9 .,\-/+()?:']")


def upper_safe(text: str) -> str:
    """Upper case with German letters spelt out and only the SEPA basic Latin characters."""
    if text.isascii():
        upper = text.upper()
    else:
        spelt = text.translate(_SPELT_OUT).translate(_PLAIN_TABLE)
        plain = unicodedata.normalize("NFKD", spelt).encode("ascii", "ignore").decode("ascii")
        upper = plain.upper()
    return upper if _NOT_SAFE.search(upper) is None else _NOT_SAFE.sub(" ", upper)


def upper_safe_cut(text: str, limit: int) -> str:
    """`upper_safe(text)[:limit]`, reading only as much of a long text as it needs.

    Every character becomes none, one or two, each from its own character alone, so the first
    `limit` characters of the text give the result unless some of them vanish.
    """
    head = upper_safe(text[:limit])
    if len(head) >= limit or len(text) <= limit:
        return head[:limit]
    return upper_safe(text)[:limit]


def _transliterate(error: UnicodeError) -> tuple[str, int]:
    """Encode what the target code page lacks as its nearest plain letter ("ł" → "l"), or "?"."""
    assert isinstance(error, UnicodeEncodeError)
    bad = error.object[error.start : error.end].translate(_PLAIN_TABLE)
    plain = unicodedata.normalize("NFKD", bad).encode("ascii", "ignore").decode("ascii")
    return (plain or "?" * len(bad)), error.end


codecs.register_error("rathauskasse_transliterate", _transliterate)


def _amount_formatter(spec: Spec) -> Callable[[int], str]:
    factor = -1 if spec.sign == "credit_positive" else 1
    unsigned = spec.sign == "unsigned"
    if spec.amount_format == "cents":

        def cents(value: int) -> str:
            value *= factor
            return str(abs(value) if unsigned else value)

        return cents
    separator = spec.decimal_separator

    def decimal(value: int) -> str:
        value *= factor
        sign = "-" if value < 0 and not unsigned else ""
        euros, rest = divmod(abs(value), 100)
        return f"{sign}{euros}{separator}{rest:02d}"

    return decimal


def _date_formatter(spec: Spec) -> Callable[[dt.date], str]:
    seen: dict[dt.date, str] = {}
    fmt = spec.date_format

    def format_date(value: dt.date) -> str:
        try:
            return seen[value]
        except KeyError:
            seen[value] = text = value.strftime(fmt)
            return text

    return format_date


def _column_function(spec: Spec, column: ColumnSpec) -> Callable[[Sequence[Any]], Any]:
    source = SOURCES[column.source]
    if source.kind == "amount":
        amount = _amount_formatter(spec)
        at = _AT["amount_cents"]
        if spec.file_format == "jsonl" and spec.amount_format == "cents":
            factor = -1 if spec.sign == "credit_positive" else 1
            if spec.sign == "unsigned":
                return lambda row: abs(row[at])
            return lambda row: row[at] * factor
        return lambda row: amount(row[at])
    if source.kind == "date":
        date = _date_formatter(spec)
        at = _AT["booking_date"]
        return lambda row: date(row[at])
    if source.kind == "integer":
        at = _AT[source.field]
        if spec.file_format == "jsonl":
            return lambda row: row[at]
        return lambda row: str(row[at])
    if source.name == "constant":
        value = upper_safe(column.value) if column.upper else column.value
        return lambda _row: value
    if source.name == "currency":
        return lambda _row: "EUR"
    if source.name == "debit_credit":
        at = _AT["amount_cents"]
        return lambda row: "S" if row[at] > 0 else "H"
    if source.name == "record_kind_label":
        at = _AT["record_kind"]
        text: Callable[[Sequence[Any]], str] = lambda row: RECORD_KINDS[row[at]]  # noqa: E731
    else:
        at = _AT[source.field]
        text = lambda row: row[at] or ""  # noqa: E731
    limit, upper = column.max_length, column.upper
    if upper and limit:
        return lambda row: upper_safe_cut(text(row), limit)
    if upper:
        return lambda row: upper_safe(text(row))
    if limit:
        return lambda row: text(row)[:limit]
    return text


def _fixed(column: ColumnSpec, function: Callable[[Sequence[Any]], Any]) -> Callable[..., str]:
    width, pad = column.width, column.pad
    if column.align == "right":
        return lambda row: function(row)[-width:].rjust(width, pad)
    return lambda row: function(row)[:width].ljust(width, pad)


@dataclass
class Totals:
    count: int = 0
    debit_cents: int = 0
    credit_cents: int = 0  # negative: the credits' sum, signed as the ledger signs it
    first_date: dt.date | None = None
    last_date: dt.date | None = None
    by_kind: dict[str, int] = field(default_factory=dict)

    @property
    def net_cents(self) -> int:
        return self.debit_cents + self.credit_cents

    def add(self, rows: Sequence[Sequence[Any]]) -> None:
        amount_at, date_at, kind_at = _AT["amount_cents"], _AT["booking_date"], _AT["record_kind"]
        for row in rows:
            cents = row[amount_at]
            if cents > 0:
                self.debit_cents += cents
            else:
                self.credit_cents += cents
            kind = row[kind_at]
            self.by_kind[kind] = self.by_kind.get(kind, 0) + 1
            day = row[date_at]
            if self.first_date is None or day < self.first_date:
                self.first_date = day
            if self.last_date is None or day > self.last_date:
                self.last_date = day
        self.count += len(rows)


class Writer:
    """Turns chunks of record tuples into the file's bytes, encoded, as they come."""

    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self.functions = [_column_function(spec, column) for column in spec.columns]
        self.errors = "strict" if spec.encoding == "utf-8" else "rathauskasse_transliterate"

    def _encode(self, text: str) -> bytes:
        return text.encode(self.spec.encoding, self.errors)

    def header(self) -> bytes:
        spec = self.spec
        if spec.file_format != "separated" or not spec.include_header:
            return b""
        return self._encode(self._separated([[c.header for c in spec.columns]]))

    def _separated(self, rows: Iterable[Sequence[Any]]) -> str:
        spec = self.spec
        buffer = io.StringIO()
        writer = csv.writer(
            buffer,
            delimiter=spec.delimiter,
            quotechar=spec.quote_char,
            quoting=csv.QUOTE_ALL if spec.quoting == "all" else csv.QUOTE_MINIMAL,
            lineterminator=spec.line_ending,
            doublequote=True,
        )
        writer.writerows(rows)
        return buffer.getvalue()

    def chunk(self, rows: Sequence[Sequence[Any]]) -> bytes:
        """The bytes of these records."""
        spec, functions = self.spec, self.functions
        if spec.file_format == "separated":
            return self._encode(self._separated([[f(row) for f in functions] for row in rows]))
        end = spec.line_ending
        if spec.file_format == "fixed":
            fixed = [_fixed(c, f) for c, f in zip(spec.columns, functions, strict=True)]
            return self._encode("".join("".join([f(row) for f in fixed]) + end for row in rows))
        keys = [c.header.strip() for c in spec.columns]
        dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
        return self._encode(
            "".join(
                dumps(dict(zip(keys, [f(row) for f in functions], strict=True))) + end
                for row in rows
            )
        )

    def preview(self, rows: Sequence[Sequence[Any]]) -> list[str]:
        """The lines these records make (header first), decoded again, for the admin's preview."""
        data = self.header() + self.chunk(rows)
        text = data.decode(self.spec.encoding)
        return [line for line in text.split(self.spec.line_ending) if line]


def write(spec: Spec, chunks: Iterable[Sequence[Sequence[Any]]]) -> Iterator[tuple[bytes, int]]:
    """Bytes of the file for the chunks of records: (bytes, records in them), header first."""
    writer = Writer(spec)
    head = writer.header()
    if head:
        yield head, 0
    for rows in chunks:
        if rows:
            yield writer.chunk(rows), len(rows)
