"""Texts as XBezahldienste allows them: its character sets and lengths.

`purpose` (Verwendungszweck, up to 27 characters) allows only ASCII letters, digits, `_`, `-`
and white space; German umlauts are transliterated (ä -> ae) and other accents dropped.
`description` (up to 250 characters) also allows `,`, `.` and the Latin letters U+00C0-U+017F,
so umlauts stay. Everything else becomes a space; runs of white space become one space.
"""

from __future__ import annotations

import re
import unicodedata

PURPOSE_LENGTH = 27
DESCRIPTION_LENGTH = 250
#: Identifiers (requestId, item ids, originatorId, endPointId): `^[\w\d-]+$`, at most 36.
ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,36}")

_GERMAN = str.maketrans(
    {"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue", "ß": "ss", "ẞ": "SS"}
)
#: A few characters that carry meaning, written the way the allowed set can say it.
_SPELLED = str.maketrans({"&": " und ", "/": "-", "–": "-", "—": "-", "‑": "-"})
_NOT_IN_PURPOSE = re.compile(r"[^A-Za-z0-9_\s-]")
_NOT_IN_DESCRIPTION = re.compile(r"[^A-Za-z0-9_\s\-,.\u00C0-\u017F]")
_SPACES = re.compile(r"\s+")


def _fit(text: str, limit: int) -> str:
    return _SPACES.sub(" ", text).strip()[:limit].rstrip()


def purpose(text: str, *, fallback: str = "Zahlung") -> str:
    """The `purpose` field: ASCII only, umlauts transliterated, at most 27 characters."""
    ascii_text = "".join(
        char
        for char in unicodedata.normalize("NFKD", text.translate(_GERMAN).translate(_SPELLED))
        if not unicodedata.combining(char)
    )
    return _fit(_NOT_IN_PURPOSE.sub(" ", ascii_text), PURPOSE_LENGTH) or fallback


def description(text: str, *, limit: int = DESCRIPTION_LENGTH, fallback: str = "Zahlung") -> str:
    """The `description` fields: umlauts and accented Latin letters kept, at most 250."""
    composed = unicodedata.normalize("NFC", text.translate(_SPELLED))
    return _fit(_NOT_IN_DESCRIPTION.sub(" ", composed), limit) or fallback


def reference(text: str, *, limit: int = 36) -> str:
    """An item's `reference` (the Kassenzeichen): printable, without line breaks, at most 36."""
    return _fit("".join(char for char in text if char.isprintable()), limit)
