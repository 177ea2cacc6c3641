"""CSV statements, for banks that offer nothing better, read through a profile.

A profile says how one bank's export looks: separator, encoding, date format, decimal comma,
and which column holds what. Either one signed amount column, or a credit and a debit column
(both unsigned; the one that is filled counts). The importer keeps profiles wherever it likes;
here they are plain frozen data. `SPARKASSE_CAMT_CSV` is the "CSV-CAMT" export of the German
savings banks' online banking, the most common one in municipal cash offices.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

from rathauskasse.reconciliation.lines import StatementError, StatementInfo, StatementLine
from rathauskasse.reconciliation.parsers._common import compact_iban, fraction_cents

#: Cells longer than this are not bank data; csv's own default limit (128 KiB) is far above.
_MAX_CELL = 4096


@dataclass(frozen=True, slots=True)
class CsvProfile:
    name: str
    booking_date: str  # column names, as in the header row
    amount: str = ""  # signed amount; or credit/debit below
    credit: str = ""
    debit: str = ""
    value_date: str = ""
    text: str = ""
    counterparty_name: str = ""
    counterparty_iban: str = ""
    counterparty_bic: str = ""
    currency: str = ""
    account: str = ""  # the account holder's own IBAN, when each row names it
    end_to_end_id: str = ""
    mandate_id: str = ""
    creditor_id: str = ""
    booking_text: str = ""
    separator: str = ";"
    quote: str = '"'
    encoding: str = "utf-8"
    date_format: str = "%d.%m.%Y"
    decimal_comma: bool = True
    default_currency: str = "EUR"  # a profile states its bank's currency; not a guess per row

    def __post_init__(self) -> None:
        if not self.amount and not (self.credit and self.debit):
            msg = "A CSV profile needs an amount column or both a credit and a debit column."
            raise ValueError(msg)

    @property
    def required(self) -> tuple[str, ...]:
        columns = (self.booking_date, self.amount, self.credit, self.debit)
        return tuple(column for column in columns if column)

    def matches(self, head: bytes) -> bool:
        """Whether the file's header row has this profile's required columns."""
        text = head.decode(self.encoding, errors="replace").lstrip("\ufeff")
        first = next((line for line in text.splitlines() if line.strip()), "")
        header = {cell.strip().strip(self.quote).strip() for cell in first.split(self.separator)}
        return all(column in header for column in self.required)


SPARKASSE_CAMT_CSV = CsvProfile(
    name="sparkasse-camt",
    account="Auftragskonto",
    booking_date="Buchungstag",
    value_date="Valutadatum",
    booking_text="Buchungstext",
    text="Verwendungszweck",
    creditor_id="Glaeubiger ID",
    mandate_id="Mandatsreferenz",
    end_to_end_id="Kundenreferenz (End-to-End)",
    counterparty_name="Beguenstigter/Zahlungspflichtiger",
    counterparty_iban="Kontonummer/IBAN",
    counterparty_bic="BIC (SWIFT-Code)",
    amount="Betrag",
    currency="Waehrung",
    encoding="cp1252",
    date_format="%d.%m.%y",
)

BUILTIN_PROFILES: tuple[CsvProfile, ...] = (SPARKASSE_CAMT_CSV,)


def _amount_pattern(*, decimal_comma: bool) -> re.Pattern[str]:
    point, group = (",", r"\.") if decimal_comma else (r"\.", ",")
    return re.compile(
        rf"(?P<sign>[+-]?)\s*(?P<whole>\d{{1,3}}(?:{group}\d{{3}})+|\d{{1,15}})"
        rf"(?:{point}(?P<fraction>\d{{1,5}}))?"
    )


def _cents(text: str, pattern: re.Pattern[str], *, where: str) -> int:
    raw = text.strip()
    match = pattern.fullmatch(raw)
    if match is None:
        shown = raw[:40] or "(leer)"
        raise StatementError(f"{where}: Der Betrag „{shown}“ ist nicht lesbar.", where=where)
    whole = re.sub(r"\D", "", match["whole"])
    cents = fraction_cents(whole, match["fraction"] or "", where=where, raw=raw)
    return -cents if match["sign"] == "-" else cents


def _date(text: str, profile: CsvProfile, *, where: str, required: bool) -> dt.date | None:
    raw = text.strip()
    if not raw:
        if required:
            raise StatementError(f"{where}: Das Buchungsdatum fehlt.", where=where)
        return None
    try:
        return dt.datetime.strptime(raw, profile.date_format).date()  # noqa: DTZ007 - a date
    except ValueError as exc:
        raise StatementError(
            f"{where}: Das Datum „{raw[:20]}“ passt nicht zum Format des Profils „{profile.name}“.",
            where=where,
        ) from exc


def _profile_for(head: bytes, profile: CsvProfile | None) -> CsvProfile:
    if profile is not None:
        return profile
    for candidate in BUILTIN_PROFILES:
        if candidate.matches(head):
            return candidate
    raise StatementError("Für diese CSV-Datei ist kein Profil bekannt.")


def parse_csv(
    stream: IO[bytes], *, profile: CsvProfile | None, head: bytes = b""
) -> Iterator[StatementLine]:
    """Every data row of a CSV export as a line."""
    profile = _profile_for(head, profile)
    try:
        codecs.lookup(profile.encoding)
    except LookupError as exc:
        raise StatementError(f"Die Zeichenkodierung „{profile.encoding}“ ist unbekannt.") from exc
    text = io.TextIOWrapper(stream, encoding=profile.encoding, newline="")
    reader = csv.reader(text, delimiter=profile.separator, quotechar=profile.quote, strict=True)
    pattern = _amount_pattern(decimal_comma=profile.decimal_comma)
    infos: dict[str, StatementInfo] = {}
    try:
        header: list[str] | None = None
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            if header is None:
                header = [cell.strip().lstrip("\ufeff").strip() for cell in row]
                missing = [column for column in profile.required if column not in header]
                if missing:
                    raise StatementError(
                        f"CSV, Zeile {reader.line_num}: Die Spalte „{missing[0]}“ des Profils "
                        f"„{profile.name}“ fehlt in der Kopfzeile."
                    )
                columns = {name: position for position, name in enumerate(header)}
                index = 0
                continue
            index += 1
            yield _row_line(
                row,
                columns=columns,
                profile=profile,
                pattern=pattern,
                infos=infos,
                index=index,
                line_number=reader.line_num,
            )
    except UnicodeDecodeError as exc:
        raise StatementError(
            f"CSV, Zeile {reader.line_num + 1}: Die Datei ist nicht in der Kodierung "
            f"„{profile.encoding}“ des Profils „{profile.name}“ geschrieben."
        ) from exc
    except csv.Error as exc:
        raise StatementError(f"CSV, Zeile {reader.line_num}: Die Zeile ist beschädigt.") from exc
    finally:
        text.detach()
    if header is None:
        raise StatementError("Die CSV-Datei hat keine Kopfzeile.")


def _row_line(
    row: list[str],
    *,
    columns: dict[str, int],
    profile: CsvProfile,
    pattern: re.Pattern[str],
    infos: dict[str, StatementInfo],
    index: int,
    line_number: int,
) -> StatementLine:
    where = f"CSV, Zeile {line_number}"

    def cell(column: str) -> str:
        position = columns.get(column) if column else None
        if position is None or position >= len(row):
            return ""
        value = row[position]
        if len(value) > _MAX_CELL:
            raise StatementError(f"{where}: Die Spalte „{column}“ ist zu lang.", where=where)
        return " ".join(value.split())

    if profile.amount:
        amount = _cents(cell(profile.amount), pattern, where=where)
    else:
        credit, debit = cell(profile.credit), cell(profile.debit)
        if bool(credit) == bool(debit):
            raise StatementError(
                f"{where}: Genau eine der Spalten „{profile.credit}“ und „{profile.debit}“ "
                "muss einen Betrag haben.",
                where=where,
            )
        amount = (
            abs(_cents(credit, pattern, where=where))
            if credit
            else -abs(_cents(debit, pattern, where=where))
        )
    account = compact_iban(cell(profile.account))
    info = infos.get(account)
    if info is None:
        info = infos[account] = StatementInfo(
            format=f"csv:{profile.name}",
            statement_id="",
            account_iban=account,
            currency=profile.default_currency,
        )
    return StatementLine(
        statement=info,
        entry_index=index,
        transaction_index=0,
        amount_cents=amount,
        currency=cell(profile.currency).upper() or profile.default_currency,
        booking_date=_date(cell(profile.booking_date), profile, where=where, required=True),
        value_date=_date(cell(profile.value_date), profile, where=where, required=False),
        remittance_text=cell(profile.text),
        end_to_end_id=cell(profile.end_to_end_id),
        mandate_id=cell(profile.mandate_id),
        creditor_id=cell(profile.creditor_id),
        counterparty_name=cell(profile.counterparty_name),
        counterparty_iban=compact_iban(cell(profile.counterparty_iban)),
        counterparty_bic=cell(profile.counterparty_bic).upper(),
        additional_info=cell(profile.booking_text),
        reversal="RUECKLASTSCHRIFT" in cell(profile.booking_text).upper().replace("Ü", "UE"),
    )
