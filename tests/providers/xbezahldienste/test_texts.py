"""Purpose and description in the characters and lengths XBezahldienste allows."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rathauskasse.providers.xbezahldienste import texts

PURPOSE = re.compile(r"[A-Za-z0-9_\s-]{1,27}")
DESCRIPTION = re.compile(r"[A-Za-z0-9_\s\-,.\u00C0-\u017F]{1,250}")


@pytest.mark.parametrize(
    ("text", "purpose"),
    [
        ("Hundesteuer Müller", "Hundesteuer Mueller"),
        ("Gebühr für Außenbewirtschaftung", "Gebuehr fuer Aussenbewirtsc"),
        ("ÄÖÜ äöü ß", "AeOeUe aeoeue ss"),
        ("Café Señor Łódź", "Cafe Senor odz"),  # accents dropped; Ł has no decomposition
        ("KZ 2612345674, 2612345682", "KZ 2612345674 2612345682"),
        ("Miete 10/2026 – Halle & Platz", "Miete 10-2026 - Halle und P"),
        ("€ 30,70\n\tfällig", "30 70 faellig"),
        ("€€€", "Zahlung"),
    ],
)
def test_purpose_is_ascii_with_umlauts_transliterated(text: str, purpose: str) -> None:
    assert texts.purpose(text) == purpose


@pytest.mark.parametrize(
    ("text", "description"),
    [
        ("Gebühr für Außenbewirtschaftung", "Gebühr für Außenbewirtschaftung"),
        ("Kassenzeichen 2612345674, 2612345682.", "Kassenzeichen 2612345674, 2612345682."),
        ("Miete 10/2026 (Halle) & Platz: „Nord“", "Miete 10-2026 Halle und Platz Nord"),
        ("Straßensondernutzung – Café Señor", "Straßensondernutzung - Café Señor"),
        ("Zeile 1\r\nZeile 2", "Zeile 1 Zeile 2"),
        ("Gebu\u0308hr", "Gebühr"),  # decomposed umlaut, composed again
    ],
)
def test_description_keeps_german_letters(text: str, description: str) -> None:
    assert texts.description(text) == description


def test_long_texts_are_cut_at_a_word_gap_without_trailing_space() -> None:
    assert texts.purpose("Parkgebühren Innenstadt Zone A") == "Parkgebuehren Innenstadt Zo"
    assert texts.purpose("a" * 26 + " b") == "a" * 26
    assert len(texts.description("ä" * 400)) == 250


@given(st.text())
def test_any_text_becomes_an_allowed_purpose_and_description(text: str) -> None:
    assert PURPOSE.fullmatch(texts.purpose(text))
    assert DESCRIPTION.fullmatch(texts.description(text))
    assert texts.purpose(text) == texts.purpose(text).strip()
    assert len(texts.reference(text)) <= 36
