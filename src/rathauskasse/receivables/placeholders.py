"""Placeholders in notice templates: `{name}` stands for a value of the notice, nothing else.

The syntax is deliberately not Django's template language: staff edit these texts in the admin,
and a placeholder can only be replaced by its value. There are no expressions, attributes,
filters, tags or loops, so a template cannot reach anything but the values listed here.

- `{kassenzeichen}` is replaced by the notice's Kassenzeichen;
- `{{` and `}}` print a single brace;
- an unknown name, or a brace that opens or closes nothing, is refused when the template is
  saved, with a German message that names the allowed placeholders.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from django.core.exceptions import ValidationError

#: Every placeholder, with what it stands for (shown in the admin as help).
PLACEHOLDERS: dict[str, str] = {
    "name": "Name der oder des Zahlungspflichtigen",
    "kassenzeichen": "Kassenzeichen, z. B. 26-000123-7",
    "zweck": "Zweck der Forderung, z. B. Hundesteuer 2026",
    "betrag": "offener Betrag, z. B. 30,70 €",
    "faellig_am": "zahlbar bis (Datum)",
    "datum": "Datum des Schreibens",
    "amt": "zuständiges Amt",
    "organisation": "Name der Organisation",
    "empfaenger": "Zahlungsempfänger (wie im GiroCode)",
    "iban": "IBAN der Organisation",
    "bic": "BIC der Organisation",
    "zahlungslink": "Adresse des Zahlungslinks",
    "mahngebuehr": "Mahngebühr dieser Erinnerung, z. B. 5,00 € (sonst 0,00 €)",
}

_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}\n]*)\}|[{}]")


def allowed() -> str:
    return ", ".join(f"{{{name}}}" for name in PLACEHOLDERS)


def check(text: str) -> None:
    """Refuse unknown placeholders and stray braces (`ValidationError`, German)."""
    unknown: list[str] = []
    for match in _TOKEN.finditer(text):
        token = match.group(0)
        if token in ("{{", "}}"):
            continue
        name = match.group(1)
        if name is None:
            raise ValidationError(
                "Eine geschweifte Klammer öffnet oder schließt keinen Platzhalter. Für eine "
                "Klammer im Text schreiben Sie {{ oder }}.",
                code="stray_brace",
            )
        if name.strip() not in PLACEHOLDERS or name != name.strip():
            unknown.append(token)
    if unknown:
        raise ValidationError(
            "Unbekannte Platzhalter: %(unknown)s. Erlaubt sind: %(allowed)s.",
            code="unknown_placeholder",
            params={"unknown": ", ".join(dict.fromkeys(unknown)), "allowed": allowed()},
        )


def fill(text: str, values: Mapping[str, str]) -> str:
    """`text` with every placeholder replaced; `check` it first (as saving a template does)."""

    def replace(match: re.Match[str]) -> str:
        token = match.group(0)
        if token in ("{{", "}}"):
            return token[0]
        name = match.group(1)
        if name is None or name not in values:
            raise ValueError(f"unchecked template: {token!r}")
        return values[name]

    return _TOKEN.sub(replace, text)
