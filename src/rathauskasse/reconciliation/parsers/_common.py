"""What every statement format shares: exact amounts, dates, and the error that names a place."""

from __future__ import annotations

import datetime as dt
import re

from rathauskasse.reconciliation.lines import StatementError

#: ISO 20022 amounts: up to 18 digits, at most 5 of them after the point, no sign.
_ISO_AMOUNT = re.compile(r"(\d{1,18})(?:\.(\d{1,5}))?")
#: SWIFT (MT940) and German CSV amounts: a decimal comma, the fraction may be empty ("15000,").
_COMMA_AMOUNT = re.compile(r"(\d{1,15}),(\d{0,5})")
_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
#: Dates already read, by their first ten characters (all a date's value depends on); a
#: statement has few distinct dates, and the cap keeps odd files from growing this for ever.
_DATES: dict[str, dt.date] = {}
_MAX_DATES = 4096


def fraction_cents(whole: str, fraction: str, *, where: str, raw: str) -> int:
    """Whole units and fraction digits to cents; digits beyond the cent must be zero.

    A bank that writes 18.150 means 18.15 (the corpus has such files); 18.155 is half a cent
    that no account can book, so it is refused instead of rounded.
    """
    fraction = fraction or ""
    cents_part, rest = fraction[:2].ljust(2, "0"), fraction[2:]
    if rest.strip("0"):
        raise StatementError(
            f"{where}: Der Betrag „{raw}“ enthält Bruchteile eines Cents.", raw=raw, where=where
        )
    return int(whole) * 100 + int(cents_part)


def iso_amount_cents(text: str | None, *, where: str) -> int:
    """An ISO 20022 amount ("1234.5") as unsigned cents, or a `StatementError` naming `where`."""
    raw = (text or "").strip()
    # The common "1234.5" in ASCII digits, without the regular expression; anything else
    # (other digits, a missing fraction, too many places) takes the exact path below.
    whole, dot, fraction = raw.partition(".")
    if (
        len(whole) <= 18
        and len(fraction) <= 2
        and whole.isdigit()
        and whole.isascii()
        and (not dot or (fraction.isdigit() and fraction.isascii()))
    ):
        return int(whole) * 100 + (int(fraction.ljust(2, "0")) if dot else 0)
    match = _ISO_AMOUNT.fullmatch(raw)
    if match is None:
        shown = raw[:40] or "(leer)"
        raise StatementError(
            f"{where}: Der Betrag „{shown}“ ist nicht lesbar.", raw=raw[:40], where=where
        )
    return fraction_cents(match[1], match[2] or "", where=where, raw=raw)


def comma_amount_cents(text: str, *, where: str) -> int:
    """A decimal-comma amount ("1500,00", "15000,") as unsigned cents."""
    raw = text.strip()
    match = _COMMA_AMOUNT.fullmatch(raw)
    if match is None:
        shown = raw[:40] or "(leer)"
        raise StatementError(
            f"{where}: Der Betrag „{shown}“ ist nicht lesbar.", raw=raw[:40], where=where
        )
    return fraction_cents(match[1], match[2], where=where, raw=raw)


def iso_date(text: str | None, *, where: str) -> dt.date | None:
    """`2024-03-13` or `2024-03-13T18:40:42+01:00` as a date (the bank's local date)."""
    raw = (text or "").strip()
    if not raw:
        return None
    found = _DATES.get(raw[:10])
    if found is not None:
        return found
    match = _ISO_DATE.match(raw)
    if match is None:
        raise StatementError(f"{where}: Das Datum „{raw[:40]}“ ist nicht lesbar.", where=where)
    try:
        date = dt.date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError as exc:
        raise StatementError(
            f"{where}: Das Datum „{raw[:40]}“ gibt es nicht.", where=where
        ) from exc
    if len(_DATES) < _MAX_DATES:
        _DATES[raw[:10]] = date
    return date


def iso_datetime(text: str | None, *, where: str) -> dt.datetime | None:
    raw = (text or "").strip()
    if not raw:
        return None
    try:
        return dt.datetime.fromisoformat(raw)
    except ValueError as exc:
        raise StatementError(
            f"{where}: Der Zeitpunkt „{raw[:40]}“ ist nicht lesbar.", where=where
        ) from exc


def compact_iban(text: str) -> str:
    return "".join(text.split()).upper()
