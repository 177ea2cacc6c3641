"""EPC QR code (GiroCode, EPC069-12): the payload a banking app reads to fill in a SEPA transfer.

One element per line, separated by LF:

    1 BCD   2 version (001, 002)   3 character set (1 = UTF-8 … 8 = ISO-8859-15)   4 SCT
    5 BIC (8 or 11; optional from 002)   6 beneficiary name (1-70)   7 IBAN
    8 amount: EUR + 0.01-999999999.99 with a dot, or empty   9 purpose code (4 letters) or empty
    10 structured remittance (ISO 11649 RF reference, ≤ 35)   11 unstructured remittance (≤ 140)
    12 beneficiary-to-originator information (≤ 70; shown to the payer, never sent)

Either line 10 or line 11, never both. Nothing follows the last filled line; empty lines before
it stay. At most 331 bytes in the chosen character set, as a QR code of error level M (version
13 at most). The amount is written as short as it is exact ("EUR12.3", "EUR20"), the form of the
standard's own examples.

`sepa_text` keeps what goes into the transfer (name, remittance) within the character set German
banks pass on; see its docstring. This module knows nothing of receivables: it turns plain values
into bytes and a QR code.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal

from schwifty import IBAN
from schwifty import exceptions as schwifty_errors

from rathauskasse.core import iso11649, qr

MAX_BYTES = 331
MAX_CENTS = 999_999_999_99
#: The character-set line and the codec each one means (EPC069-12, 2D code guidelines).
CHARSETS = {
    1: "utf-8",
    2: "iso-8859-1",
    3: "iso-8859-2",
    4: "iso-8859-4",
    5: "iso-8859-5",
    6: "iso-8859-7",
    7: "iso-8859-10",
    8: "iso-8859-15",
}
_BIC = re.compile(r"[A-Z]{6}[A-Z0-9]{2}([A-Z0-9]{3})?")
_PURPOSE = re.compile(r"[A-Z]{4}")


class InvalidTransfer(ValueError):
    """The values cannot make an EPC QR code; the message says which rule they break."""


@dataclass(frozen=True, slots=True)
class Transfer:
    """What one EPC QR code asks the payer's bank to send."""

    name: str
    iban: str
    amount_cents: int | None = None
    bic: str = ""
    purpose: str = ""
    reference: str = ""
    text: str = ""
    information: str = ""
    version: str = "002"
    charset: int = 1


def amount_text(cents: int) -> str:
    """ "12.3" for 1230 cents, "20" for 2000: exact, no thousands separator, no trailing zero."""
    return format(Decimal(cents).scaleb(-2).normalize(), "f")


def payload(transfer: Transfer) -> str:
    """The payload text, checked against every rule of EPC069-12."""
    t = transfer
    if t.version not in ("001", "002"):
        raise InvalidTransfer("Die Version muss 001 oder 002 sein.")
    if t.charset not in CHARSETS:
        raise InvalidTransfer("Der Zeichensatz muss 1 bis 8 sein.")
    if t.bic and not _BIC.fullmatch(t.bic):
        raise InvalidTransfer("Die BIC hat 8 oder 11 Zeichen.")
    if t.version == "001" and not t.bic:
        raise InvalidTransfer("In Version 001 ist die BIC Pflicht.")
    if not 1 <= len(t.name) <= 70 or t.name != t.name.strip() or "\n" in t.name:
        raise InvalidTransfer("Der Name des Empfängers hat 1 bis 70 Zeichen.")
    try:
        iban = str(IBAN(t.iban))
    except schwifty_errors.SchwiftyException as exc:
        raise InvalidTransfer("Die IBAN ist ungültig.") from exc
    if t.amount_cents is not None and (
        type(t.amount_cents) is not int or not 1 <= t.amount_cents <= MAX_CENTS
    ):
        raise InvalidTransfer("Der Betrag liegt zwischen 0,01 und 999.999.999,99 Euro.")
    if t.purpose and not _PURPOSE.fullmatch(t.purpose):
        raise InvalidTransfer("Der Zweck ist ein Code aus vier Großbuchstaben (z. B. GOVT).")
    if t.reference and t.text:
        raise InvalidTransfer("Entweder eine strukturierte Referenz oder ein Text, nie beides.")
    if t.reference and (len(t.reference) > 35 or not iso11649.is_valid(t.reference)):
        raise InvalidTransfer("Die strukturierte Referenz ist keine gültige RF-Referenz.")
    if len(t.text) > 140 or "\n" in t.text:
        raise InvalidTransfer("Der Verwendungszweck hat höchstens 140 Zeichen.")
    if len(t.information) > 70 or "\n" in t.information:
        raise InvalidTransfer("Der Hinweis an den Zahlenden hat höchstens 70 Zeichen.")
    lines = [
        "BCD",
        t.version,
        str(t.charset),
        "SCT",
        t.bic,
        t.name,
        iban.replace(" ", ""),
        f"EUR{amount_text(t.amount_cents)}" if t.amount_cents is not None else "",
        t.purpose,
        t.reference,
        t.text,
        t.information,
    ]
    while not lines[-1]:
        lines.pop()
    text = "\n".join(lines)
    encoded = _encode(text, t.charset)
    if len(encoded) > MAX_BYTES:
        raise InvalidTransfer(f"Der GiroCode hat {len(encoded)} Byte; erlaubt sind {MAX_BYTES}.")
    return text


def _encode(text: str, charset: int) -> bytes:
    try:
        return text.encode(CHARSETS[charset])
    except UnicodeEncodeError as exc:
        raise InvalidTransfer(
            f"„{exc.object[exc.start : exc.end]}“ gibt es im Zeichensatz {charset} nicht."
        ) from exc


def encode(transfer: Transfer) -> bytes:
    """The payload as the bytes the QR code holds."""
    return _encode(payload(transfer), transfer.charset)


def qr_code(transfer: Transfer) -> qr.Matrix:
    """The QR code: byte mode, error level M (never raised), version 13 at most."""
    modules = qr.matrix(encode(transfer), error="M")
    if qr.version(modules) > 13:  # unreachable within 331 bytes; the standard's limit all the same
        raise InvalidTransfer("Der GiroCode ist zu groß.")
    return modules


# --- the character set of the transfer ----------------------------------------------------------

#: What German banks carry in a SEPA transfer: the SEPA Latin set (EPC217-08: a-z A-Z 0-9 space
#: / - ? : ( ) . , ' +) and the Deutsche Kreditwirtschaft's additions (Ä Ö Ü ä ö ü ß & * $ %).
SEPA_CHARACTERS = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 /-?:().,'+ÄÖÜäöüß&*$%"
)
#: Letters that Unicode does not decompose into a base letter and a mark.
_SPELLED = {
    "ł": "l",
    "Ł": "L",
    "đ": "d",
    "Đ": "D",
    "ı": "i",
    "ø": "o",
    "Ø": "O",
    "æ": "ae",
    "Æ": "AE",
    "œ": "oe",
    "Œ": "OE",
    "þ": "th",
    "Þ": "Th",
    "ð": "d",
    "Ð": "D",
    "ħ": "h",
    "Ħ": "H",
    "ŧ": "t",
    "Ŧ": "T",
    "ŀ": "l",
    "Ŀ": "L",
    "ĸ": "k",
    "ſ": "s",
    "ŉ": "n",
    "\u2013": "-",
    "\u2014": "-",
    "\u2018": "'",
    "\u2019": "'",
    "\u201a": "'",
    "\u201c": "'",
    "\u201d": "'",
    "\u201e": "'",
    "\u00a0": " ",
}


def sepa_text(text: str) -> str:
    """`text` within `SEPA_CHARACTERS`: what the payer's bank will send as it is.

    The QR code itself may hold any UTF-8 (character set 1), but the name and the remittance
    become fields of the SEPA transfer, where a bank may replace or refuse other characters. So
    Polish, Turkish, Vietnamese, French… letters lose their marks (Łódź → Lodz, Yılmaz → Yilmaz,
    Nguyễn → Nguyen), German umlauts and ß stay, and anything else becomes a space.
    """
    out: list[str] = []
    for char in unicodedata.normalize("NFC", text):
        if char in SEPA_CHARACTERS:
            out.append(char)
            continue
        if char in _SPELLED:
            out.append(_SPELLED[char])
            continue
        base = "".join(
            c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c)
        )
        out.append(base if base and all(c in SEPA_CHARACTERS for c in base) else " ")
    return " ".join("".join(out).split())
