"""Reading a finance system's CSV file of open items, row by row, without touching the database.

Every row is checked and every refusal collected, with the row number a spreadsheet shows (the
header is row 1), the column as the file names it, and the reason in German. Nothing here writes;
`finance.services.import_open_items` decides on the whole file.

Amounts are read exactly as the profile says: its decimal separator, its thousands separator
(optional in the file), at most two decimals, into integer cents; never through a float.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import re
from collections.abc import Callable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import lru_cache

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from rathauskasse.core import checkdigits
from rathauskasse.core.money import Money
from rathauskasse.finance.models import COLUMNS, DateFormat, Encoding, OpenItemProfile
from rathauskasse.organisations.models import BudgetLine, Department
from rathauskasse.receivables.kassenzeichen import InvalidKassenzeichen, Scheme
from rathauskasse.receivables.services import Debtor, LineInput, NewReceivable

MAX_FILE_BYTES = 50 * 1024 * 1024
#: The report lists this many refusals and counts the rest.
MAX_LISTED_ERRORS = 1000
#: 999.999.999,99 €, the most a SEPA transfer or a GiroCode can carry.
MAX_AMOUNT_CENTS = 99_999_999_999
_LIMITS = {
    "debtor_name": 200,
    "debtor_street": 200,
    "debtor_postcode": 10,
    "debtor_city": 100,
    "debtor_email": 254,
    "debtor_account": 30,
    "reference": 100,
}
_LABELS = {column.field: column.label for column in COLUMNS}
_Refuse = Callable[[str, str], None]


@dataclass(frozen=True, slots=True)
class RowError:
    """One refusal: `row` as a spreadsheet counts (None: the file as a whole)."""

    row: int | None
    column: str
    message: str


@dataclass(frozen=True, slots=True)
class Lookups:
    """What rows may name, loaded once per file."""

    budget_lines: Mapping[str, BudgetLine]
    departments_by_code: Mapping[str, Department]
    departments_by_name: Mapping[str, Department]
    default_budget_line: BudgetLine | None = None
    default_department: Department | None = None


@dataclass
class Parsed:
    #: The valid rows as receivables to create, and their row numbers.
    receivables: list[NewReceivable] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    error_count: int = 0
    #: Canonical Kassenzeichen -> the row that has it.
    rows_by_kassenzeichen: dict[str, int] = field(default_factory=dict)
    #: Our field -> its column as the file names it ("Betrag", or "Spalte 3" without a header).
    column_names: dict[str, str] = field(default_factory=dict)

    def refuse(self, row: int | None, column: str, message: str) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_LISTED_ERRORS:
            self.errors.append(RowError(row, column, message))


class _Refused(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# --- the file as a whole -----------------------------------------------------------------------

_bad_bytes: ContextVar[list[int]] = ContextVar("open_item_bad_bytes")


def _note_bad_byte(error: UnicodeError) -> tuple[str, int]:
    assert isinstance(error, UnicodeDecodeError)
    _bad_bytes.get().append(error.start)
    return "\ufffd", error.end


codecs.register_error("rathauskasse-open-items", _note_bad_byte)

_ENCODING_NAMES = {Encoding.UTF8: "UTF-8", Encoding.WINDOWS_1252: "Windows-1252 (ANSI)"}


def _line_numbers(data: bytes, offsets: list[int]) -> list[int]:
    numbers, line, position = [], 1, 0
    for offset in offsets:
        line += data.count(b"\n", position, offset)
        position = offset
        numbers.append(line)
    return numbers


def decode(data: bytes, encoding: str, parsed: Parsed) -> str | None:
    """The file's text, or None with the refusals in `parsed` (each line with a bad byte)."""
    name = _ENCODING_NAMES.get(Encoding(encoding), encoding)
    skipped = 0
    if encoding == Encoding.UTF8 and data.startswith(codecs.BOM_UTF8):
        skipped = len(codecs.BOM_UTF8)
        data = data[skipped:]
    bad: list[int] = []
    token = _bad_bytes.set(bad)
    try:
        text = data.decode(encoding, errors="rathauskasse-open-items")
    finally:
        _bad_bytes.reset(token)
    if bad:
        hint = (
            " Vielleicht ist sie in Windows-1252 (ANSI) gespeichert; dann wählen Sie ein Profil "
            "mit dieser Kodierung."
            if encoding == Encoding.UTF8
            else ""
        )
        parsed.refuse(
            None, "", f"Die Datei ist nicht in {name} kodiert, wie das Profil es erwartet.{hint}"
        )
        seen_lines: set[int] = set()
        for offset, line in zip(bad, _line_numbers(data, bad), strict=True):
            if line not in seen_lines:
                seen_lines.add(line)
                parsed.refuse(
                    line,
                    "",
                    f"Das Byte 0x{data[offset]:02X} (Stelle {skipped + offset + 1} der Datei) "
                    f"ist in {name} kein gültiges Zeichen.",
                )
        return None
    if encoding == Encoding.WINDOWS_1252 and not data.isascii():
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            # Text that is valid UTF-8 is practically never meant as Windows-1252: "ü" would be
            # read as "Ã¼". Refuse rather than store mangled names.
            first = next(i for i, byte in enumerate(data) if byte > 0x7F)
            parsed.refuse(
                _line_numbers(data, [first])[0],
                "",
                "Die Datei ist in UTF-8 kodiert, das Profil erwartet Windows-1252 (ANSI): "
                "Umlaute würden verfälscht (aus „ü“ würde „Ã¼“). Wählen Sie ein Profil mit "
                "UTF-8 oder speichern Sie die Datei als Windows-1252.",
            )
            return None
    return text


def _refuse_unreadable(data: bytes, parsed: Parsed) -> bool:
    if len(data) > MAX_FILE_BYTES:
        parsed.refuse(
            None,
            "",
            f"Die Datei ist {len(data) / 1024 / 1024:.1f} MB groß; höchstens "
            f"{MAX_FILE_BYTES // 1024 // 1024} MB werden auf einmal importiert. Bitte teilen Sie "
            "sie auf.",
        )
        return True
    if not data.strip(b" \t\r\n" + codecs.BOM_UTF8):
        parsed.refuse(None, "", "Die Datei ist leer.")
        return True
    if data.startswith(b"PK\x03\x04"):
        parsed.refuse(
            None,
            "",
            "Das ist keine CSV-Datei, sondern eine ZIP- oder Excel-Datei. Bitte speichern Sie "
            "die Tabelle als CSV.",
        )
        return True
    if b"\x00" in data:
        parsed.refuse(
            _line_numbers(data, [data.index(b"\x00")])[0],
            "",
            "Die Datei enthält Null-Bytes; sie ist keine CSV-Textdatei (oder UTF-16-kodiert). "
            "Bitte speichern Sie sie als CSV in der Kodierung des Profils.",
        )
        return True
    return False


# --- values ------------------------------------------------------------------------------------


@lru_cache(maxsize=32)
def _amount_pattern(decimal: str, thousands: str) -> re.Pattern[str]:
    d = re.escape(decimal)
    if not thousands:
        return re.compile(rf"([0-9]+)(?:{d}([0-9]{{1,2}}))?")
    t = "[ \u00a0]" if thousands == " " else re.escape(thousands)
    return re.compile(rf"([0-9]{{1,3}}(?:{t}[0-9]{{3}})+|[0-9]+)(?:{d}([0-9]{{1,2}}))?")


def _example(decimal: str, thousands: str) -> str:
    return f"1{thousands}234{decimal}56"


def parse_amount(text: str, *, decimal: str, thousands: str) -> int:
    """Cents of a positive amount written the way the profile says; `_Refused` says why not."""
    value = text.strip()
    for mark in ("€", "EUR"):
        value = value.removeprefix(mark).removesuffix(mark).strip()
    if not value:
        raise _Refused("Der Betrag fehlt.")
    match = _amount_pattern(decimal, thousands).fullmatch(value)
    if match is None:
        if value.startswith(("-", "\u2212")) or value.endswith("-"):
            raise _Refused(
                f"„{text.strip()}“ ist negativ; Gutschriften werden nicht als offene Posten "
                "importiert."
            )
        if re.fullmatch(rf"[0-9]+{re.escape(decimal)}[0-9]{{3,}}", value):
            raise _Refused(f"„{text.strip()}“ hat mehr als zwei Nachkommastellen.")
        other = "." if decimal == "," else ","
        if re.fullmatch(rf"[0-9]+{re.escape(other)}[0-9]{{1,2}}", value):
            name = "ein Dezimalkomma" if decimal == "," else "einen Dezimalpunkt"
            raise _Refused(
                f"„{text.strip()}“: Das Profil erwartet {name}, z. B. "
                f"„{_example(decimal, thousands)}“."
            )
        raise _Refused(
            f"„{text.strip()}“ ist kein Betrag; erwartet wird z. B. "
            f"„{_example(decimal, thousands)}“."
        )
    euros, fraction = match.group(1), match.group(2) or ""
    cents = int(re.sub(r"[^0-9]", "", euros)) * 100 + int(fraction.ljust(2, "0"))
    if cents == 0:
        raise _Refused("Der Betrag muss größer als 0 sein.")
    if cents > MAX_AMOUNT_CENTS:
        raise _Refused(
            f"„{text.strip()}“ ist zu groß; höchstens {Money(MAX_AMOUNT_CENTS).format_de()}."
        )
    return cents


_DATE_PATTERNS = {
    DateFormat.DAY_MONTH_YEAR: re.compile(r"(?P<d>[0-9]{1,2})\.(?P<m>[0-9]{1,2})\.(?P<y>[0-9]{4})"),
    DateFormat.DAY_MONTH_SHORT_YEAR: re.compile(
        r"(?P<d>[0-9]{1,2})\.(?P<m>[0-9]{1,2})\.(?P<y>[0-9]{2})"
    ),
    DateFormat.ISO: re.compile(r"(?P<y>[0-9]{4})-(?P<m>[0-9]{1,2})-(?P<d>[0-9]{1,2})"),
    DateFormat.COMPACT: re.compile(r"(?P<y>[0-9]{4})(?P<m>[0-9]{2})(?P<d>[0-9]{2})"),
    DateFormat.SLASHES: re.compile(r"(?P<d>[0-9]{1,2})/(?P<m>[0-9]{1,2})/(?P<y>[0-9]{4})"),
}


@lru_cache(maxsize=4096)
def parse_date(text: str, date_format: str) -> dt.date:
    """A date in the profile's format; `_Refused` for another format or a day that never was."""
    match = _DATE_PATTERNS[DateFormat(date_format)].fullmatch(text)
    if match is None:
        raise _Refused(f"„{text}“ ist kein Datum im Format {DateFormat(date_format).label}.")
    year = int(match["y"])
    if len(match["y"]) == 2:
        year += 2000 if year < 69 else 1900  # as strptime's %y reads it
    try:
        return dt.date(year, int(match["m"]), int(match["d"]))
    except ValueError:
        raise _Refused(f"Den {text} gibt es nicht.") from None


def _kassenzeichen_refusal(scheme: Scheme, text: str, error: InvalidKassenzeichen) -> str:
    compact = scheme.normalise(text)
    if (
        scheme.check_width
        and compact.isascii()
        and compact.isdigit()
        and len(compact) == scheme.length
        and compact.startswith(scheme.prefix)
        and "Prüfziffer" in error.message
    ):
        algorithm = checkdigits.get(scheme.algorithm)
        expected = algorithm.compute(compact[: -scheme.check_width])
        return (
            f"Die Prüfziffer von „{text}“ passt nicht zum Verfahren „{algorithm.label}“ der "
            f"Organisation; richtig wäre {expected}."
        )
    return f"„{text}“: {error.message}"


# --- rows --------------------------------------------------------------------------------------


def _rows(text: str, profile: OpenItemProfile) -> Iterator[list[str]]:
    return csv.reader(
        io.StringIO(text, newline=""),
        delimiter=profile.delimiter,
        quotechar=profile.quote_char,
        doublequote=True,
        strict=True,
    )


def read(
    data: bytes,
    *,
    profile: OpenItemProfile,
    scheme: Scheme,
    lookups: Lookups,
    today: dt.date,
    check_kassenzeichen: bool = True,
) -> Parsed:
    """Check every row of the file; valid rows become `receivables`, the rest `errors`.

    `check_kassenzeichen=False` leaves the scheme's checks (length, prefix, check digit) to
    whoever creates the receivables, which makes them anyway: Kassenzeichen are then only
    normalised, and compared with each other in that form.
    """
    parsed = Parsed()
    if _refuse_unreadable(data, parsed):
        return parsed
    text = decode(data, profile.encoding, parsed)
    if text is None:
        return parsed
    reader = _rows(text, profile)
    reading = _RowReader(
        profile=profile,
        scheme=scheme,
        lookups=lookups,
        today=today,
        check_kassenzeichen=check_kassenzeichen,
    )
    number = 0
    try:
        for number, cells in enumerate(reader, start=1):
            if number == 1 and not reading.start(cells, parsed):
                return parsed
            if number == 1 and profile.has_header:
                continue
            if not any(cell.strip() for cell in cells):
                continue  # a blank line, or a row of separators only, as spreadsheets leave them
            reading.row(number, cells, parsed)
    except csv.Error as exc:
        parsed.refuse(
            number + 1, "", f"Die Datei ist ab dieser Zeile nicht als CSV lesbar: {_why(exc)}"
        )
        return parsed
    if number == 0 or (not parsed.receivables and not parsed.error_count):
        parsed.refuse(
            None,
            "",
            "Die Datei enthält keine offenen Posten" + (", nur die Kopfzeile." if number else "."),
        )
    return parsed


def _why(error: csv.Error) -> str:
    text = str(error)
    if "unexpected end of data" in text:
        return (
            "Ein Anführungszeichen wird nicht geschlossen; prüfen Sie Textbegrenzer und "
            "Trennzeichen des Profils."
        )
    if "field larger than field limit" in text:
        return f"Ein Feld ist länger als {csv.field_size_limit():,} Zeichen.".replace(",", ".")
    return f"{text} – prüfen Sie Textbegrenzer und Trennzeichen des Profils."


class _RowReader:
    """Checks rows against the columns found in the first row."""

    def __init__(
        self,
        *,
        profile: OpenItemProfile,
        scheme: Scheme,
        lookups: Lookups,
        today: dt.date,
        check_kassenzeichen: bool,
    ) -> None:
        self.profile = profile
        self.scheme = scheme
        self.lookups = lookups
        self.default_due = today + dt.timedelta(days=profile.payment_days)
        self.decimal = profile.decimal_separator
        self.thousands = profile.thousands_separator
        self.date_format = profile.date_format
        self.default_purpose = profile.default_purpose.strip()
        self.validate = scheme.validate
        self.check_kassenzeichen = check_kassenzeichen
        self.width = 0
        self.index: dict[str, int] = {}
        self.names: dict[str, str] = {}
        self.at: dict[str, int] = {}
        self.limits: list[tuple[str, int]] = []

    def start(self, cells: list[str], parsed: Parsed) -> bool:
        """Find the mapped columns in the header (or count them in the first row)."""
        found = self._find_columns(cells, parsed)
        parsed.column_names = self.names
        # Where each field stands in a row; unmapped fields at the end, where "" is appended.
        self.at = {c.field: self.index.get(c.field, self.width) for c in COLUMNS}
        self.limits = [(name, limit) for name, limit in _LIMITS.items() if name in self.index]
        return found

    def _find_columns(self, cells: list[str], parsed: Parsed) -> bool:
        self.width = len(cells)
        mapped = {
            c.field: self.profile.column(c.field) for c in COLUMNS if self.profile.column(c.field)
        }
        if self.profile.has_header:
            positions: dict[str, list[int]] = {}
            for position, cell in enumerate(cells):
                positions.setdefault(cell.strip().lstrip("\ufeff").casefold(), []).append(position)
            for our_field, header in mapped.items():
                found = positions.get(header.casefold(), [])
                if not found:
                    present = ", ".join(f"„{cell.strip()}“" for cell in cells if cell.strip())
                    parsed.refuse(
                        1,
                        header,
                        f"Die Spalte „{header}“ ({_LABELS[our_field]}) fehlt in der Kopfzeile. "
                        f"Vorhanden sind: {present or 'keine'}.",
                    )
                elif len(found) > 1:
                    parsed.refuse(
                        1,
                        header,
                        f"Die Spalte „{header}“ steht {len(found)}-mal in der Kopfzeile; es ist "
                        "nicht klar, welche gilt.",
                    )
                else:
                    self.index[our_field] = found[0]
                    self.names[our_field] = cells[found[0]].strip()
        else:
            for our_field, number in mapped.items():
                position = int(number) - 1
                if position >= self.width:
                    parsed.refuse(
                        1,
                        f"Spalte {number}",
                        f"Die erste Zeile hat {self.width} Spalten; das Profil erwartet "
                        f"{_LABELS[our_field]} in Spalte {number}.",
                    )
                else:
                    self.index[our_field] = position
                    self.names[our_field] = f"Spalte {number}"
        return not parsed.error_count

    def row(self, number: int, cells: list[str], parsed: Parsed) -> None:  # noqa: PLR0915
        if len(cells) != self.width:
            first = "die Kopfzeile" if self.profile.has_header else "die erste Zeile"
            parsed.refuse(
                number, "", f"Die Zeile hat {len(cells)} Spalten, {first} hat {self.width}."
            )
            return
        # Unmapped fields read the empty string appended at the end.
        values = [cell.strip() for cell in cells]
        values.append("")
        at = self.at
        errors_before = parsed.error_count

        def refuse(name: str, message: str) -> None:
            parsed.refuse(number, self.names.get(name, _LABELS[name]), message)

        for name, limit in self.limits:
            if len(values[at[name]]) > limit:
                refuse(name, f"Höchstens {limit} Zeichen, hier sind es {len(values[at[name]])}.")

        raw_kassenzeichen = values[at["kassenzeichen"]]
        kassenzeichen = ""
        if not raw_kassenzeichen:
            refuse("kassenzeichen", "Das Kassenzeichen fehlt.")
        else:
            try:
                kassenzeichen = (
                    self.validate(raw_kassenzeichen)
                    if self.check_kassenzeichen
                    else self.scheme.normalise(raw_kassenzeichen)
                )
            except InvalidKassenzeichen as exc:
                refuse("kassenzeichen", _kassenzeichen_refusal(self.scheme, raw_kassenzeichen, exc))
            else:
                earlier = parsed.rows_by_kassenzeichen.setdefault(kassenzeichen, number)
                if earlier != number:
                    refuse(
                        "kassenzeichen",
                        f"Das Kassenzeichen {self.scheme.display(kassenzeichen)} steht schon in "
                        f"Zeile {earlier}.",
                    )

        amount = 0
        try:
            amount = parse_amount(
                values[at["amount"]], decimal=self.decimal, thousands=self.thousands
            )
        except _Refused as exc:
            refuse("amount", exc.message)

        name = values[at["debtor_name"]]
        if not name:
            refuse("debtor_name", "Der Name des Zahlungspflichtigen fehlt.")

        country = values[at["debtor_country"]].upper() or "DE"
        if len(country) != 2 or not country.isascii() or not country.isalpha():
            refuse(
                "debtor_country",
                f"„{values[at['debtor_country']]}“ ist kein Ländercode aus zwei Buchstaben "
                "(z. B. DE).",
            )
        postcode = values[at["debtor_postcode"]]
        if country == "DE" and postcode:
            if len(postcode) == 4 and postcode.isdigit():
                postcode = "0" + postcode  # a spreadsheet dropped the leading zero of 0xxxx
            if not (len(postcode) == 5 and postcode.isascii() and postcode.isdigit()):
                refuse("debtor_postcode", f"„{postcode}“ ist keine deutsche Postleitzahl.")

        email = values[at["debtor_email"]]
        if email:
            try:
                validate_email(email)
            except ValidationError:
                refuse("debtor_email", f"„{email}“ ist keine gültige E-Mail-Adresse.")

        due = self.default_due
        raw_due = values[at["due_date"]]
        if raw_due:
            try:
                due = parse_date(raw_due, self.date_format)
            except _Refused as exc:
                refuse("due_date", exc.message)

        text = values[at["purpose"]] or self.default_purpose
        if not text:
            refuse("purpose", "Der Zweck fehlt.")

        budget_line = self._budget_line(values[at["budget_line"]], refuse)
        department = self._department(values[at["department"]], refuse)

        if parsed.error_count != errors_before or budget_line is None or department is None:
            return
        parsed.rows.append(number)
        parsed.receivables.append(
            NewReceivable(
                department=department,
                lines=(LineInput(text=text, amount_cents=amount, budget_line=budget_line),),
                purpose=text,
                debtor=Debtor(
                    name=name,
                    street=values[at["debtor_street"]],
                    postcode=postcode,
                    city=values[at["debtor_city"]],
                    country=country,
                    email=email,
                    account=values[at["debtor_account"]],
                ),
                kassenzeichen=kassenzeichen,
                due_date=due,
                source_reference=values[at["reference"]],
            )
        )

    def _budget_line(self, code: str, refuse: _Refuse) -> BudgetLine | None:
        if not code:
            if self.lookups.default_budget_line is None:
                refuse("budget_line", "Die Haushaltsstelle fehlt, und das Profil nennt keine.")
            return self.lookups.default_budget_line
        line = self.lookups.budget_lines.get(code)
        if line is None:
            refuse("budget_line", f"Die Haushaltsstelle „{code}“ gibt es nicht.")
        elif not line.is_active:
            refuse("budget_line", f"Die Haushaltsstelle „{code}“ ist nicht mehr aktiv.")
            return None
        return line

    def _department(self, key: str, refuse: _Refuse) -> Department | None:
        if not key:
            if self.lookups.default_department is None:
                refuse("department", "Das Amt fehlt, und das Profil nennt keins.")
            return self.lookups.default_department
        department = self.lookups.departments_by_code.get(
            key
        ) or self.lookups.departments_by_name.get(key.casefold())
        if department is None:
            refuse("department", f"Das Amt „{key}“ gibt es nicht (weder als Kürzel noch als Name).")
        return department
