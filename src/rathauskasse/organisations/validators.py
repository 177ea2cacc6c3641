"""Validators for bank details and official keys, usable in models, forms and services."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from schwifty import BIC, IBAN
from schwifty import exceptions as schwifty_errors

_REASONS: tuple[tuple[type[Exception], str], ...] = (
    (schwifty_errors.InvalidChecksumDigits, "die Prüfziffer stimmt nicht"),
    (schwifty_errors.InvalidBBANChecksum, "die Prüfziffer der Kontonummer stimmt nicht"),
    (schwifty_errors.InvalidLength, "die Länge stimmt nicht"),
    (schwifty_errors.InvalidCountryCode, "das Land ist unbekannt"),
    (schwifty_errors.InvalidBankCode, "die Bankleitzahl ist unbekannt"),
    (schwifty_errors.InvalidBranchCode, "die Filialnummer ist unbekannt"),
    (schwifty_errors.InvalidAccountCode, "die Kontonummer ist ungültig"),
    (schwifty_errors.InvalidStructure, "sie enthält unzulässige Zeichen"),
)


def _reason(error: Exception) -> str:
    return next((text for kind, text in _REASONS if isinstance(error, kind)), "sie ist ungültig")


def normalise_iban(value: str) -> str:
    return "".join(value.split()).upper()


def validate_iban(value: str) -> None:
    try:
        IBAN(normalise_iban(value))
    except schwifty_errors.SchwiftyException as exc:
        raise ValidationError(
            "„%(value)s“ ist keine gültige IBAN (%(reason)s).",
            code="invalid_iban",
            params={"value": value, "reason": _reason(exc)},
        ) from exc


def validate_bic(value: str) -> None:
    if not value:
        return
    try:
        BIC(value.strip().upper())
    except schwifty_errors.SchwiftyException as exc:
        raise ValidationError(
            "„%(value)s“ ist keine gültige BIC (%(reason)s).",
            code="invalid_bic",
            params={"value": value, "reason": _reason(exc)},
        ) from exc


def validate_ags(value: str) -> None:
    """The Amtlicher Gemeindeschlüssel has eight digits (Land, Bezirk, Kreis, Gemeinde)."""
    if not (len(value) == 8 and value.isdigit() and value.isascii()):
        raise ValidationError(
            "Der Amtliche Gemeindeschlüssel hat genau acht Ziffern.", code="invalid_ags"
        )


def validate_digits(value: str) -> None:
    if value and not (value.isdigit() and value.isascii()):
        raise ValidationError("Nur Ziffern sind erlaubt.", code="digits_only")
