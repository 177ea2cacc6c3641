"""Validators for bank details and official keys, usable in models, forms and services."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from schwifty import BIC, IBAN
from schwifty.exceptions import SchwiftyException


def normalise_iban(value: str) -> str:
    return "".join(value.split()).upper()


def validate_iban(value: str) -> None:
    try:
        IBAN(normalise_iban(value))
    except SchwiftyException as exc:
        raise ValidationError(
            "„%(value)s“ ist keine gültige IBAN (%(reason)s).",
            code="invalid_iban",
            params={"value": value, "reason": str(exc)},
        ) from exc


def validate_bic(value: str) -> None:
    if not value:
        return
    try:
        BIC(value.strip().upper())
    except SchwiftyException as exc:
        raise ValidationError(
            "„%(value)s“ ist keine gültige BIC (%(reason)s).",
            code="invalid_bic",
            params={"value": value, "reason": str(exc)},
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
