"""Form definitions: refusing malformed ones, and validating a citizen's answers per field type."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rathauskasse.catalogue.formdefs import (
    FIELD_TYPES,
    FormField,
    Option,
    parse_definition,
    validate_answers,
)
from rathauskasse.core.errors import ValidationFailed

DEFINITION: list[dict[str, Any]] = [
    {"name": "name", "label": "Name", "type": "text", "required": True},
    {"name": "remarks", "label": "Bemerkungen", "type": "textarea"},
    {"name": "email", "label": "E-Mail", "type": "email", "required": True},
    {"name": "phone", "label": "Telefon", "type": "phone"},
    {"name": "pages", "label": "Seiten", "type": "integer", "min_value": 1, "max_value": 50},
    {"name": "wedding_day", "label": "Tag der Hochzeit", "type": "date"},
    {
        "name": "format",
        "label": "Format",
        "type": "select",
        "options": [{"value": "short", "label": "Kurzform"}, {"value": "long"}],
    },
    {"name": "consent", "label": "Ich stimme zu", "type": "checkbox", "required": True},
    {"name": "newsletter", "label": "Newsletter", "type": "checkbox"},
]
FIELDS = parse_definition(DEFINITION)
VALID = {"name": "Erika Mustermann", "email": "erika@example.org", "consent": "on"}


def _errors(fields: tuple[FormField, ...], data: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(ValidationFailed) as caught:
        validate_answers(fields, data)
    return caught.value.errors


def _one(definition: dict[str, Any], value: object) -> str | int | bool | None:
    fields = parse_definition([{"name": "f", "label": "Feld", **definition}])
    return validate_answers(fields, {"f": value})["f"]


def _one_error(definition: dict[str, Any], value: object) -> str:
    fields = parse_definition([{"name": "f", "label": "Feld", **definition}])
    return _errors(fields, {"f": value})["f"]


# --- parsing ----------------------------------------------------------------------------------


def test_parse_builds_typed_fields() -> None:
    assert [f.name for f in FIELDS] == [d["name"] for d in DEFINITION]
    assert FIELDS[0] == FormField(name="name", label="Name", type="text", required=True)
    pages = FIELDS[4]
    assert (pages.type, pages.min_value, pages.max_value) == ("integer", 1, 50)
    assert FIELDS[6].options == (Option("short", "Kurzform"), Option("long", "long"))
    assert FIELDS[6].option_label("short") == "Kurzform"
    assert FIELDS[6].option_label("unknown") == "unknown"


def test_parse_defaults_and_trims() -> None:
    (field,) = parse_definition([{"name": "x", "label": "  Name  "}])
    assert field == FormField(name="x", label="Name", type="text", required=False)
    assert parse_definition([]) == ()


@pytest.mark.parametrize("raw", [None, {}, {"name": "x"}, "[]", 5])
def test_parse_refuses_what_is_not_a_list(raw: object) -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_definition(raw)
    assert caught.value.errors == {
        "form_definition": "Die Formulardefinition muss eine Liste sein."
    }


@pytest.mark.parametrize("item", ["name", 5, None, ["name", "Name"]])
def test_parse_refuses_items_that_are_not_objects(item: object) -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_definition([{"name": "ok", "label": "OK"}, item])
    assert caught.value.errors["form_definition"] == "Feld 2 ist kein Objekt."


@pytest.mark.parametrize(
    "name", ["", "Name", "1st", "_x", "vor name", "straße", "a-b", "x" * 51, 5, None]
)
def test_parse_refuses_bad_names(name: object) -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_definition([{"name": name, "label": "Feld"}])
    message = caught.value.errors["form_definition"]
    assert message.startswith("Feld 1: der Name")
    assert "ist ungültig (a–z, 0–9, _)" in message


def test_parse_accepts_the_longest_name() -> None:
    assert parse_definition([{"name": "a" * 50, "label": "Feld"}])[0].name == "a" * 50


def test_parse_refuses_missing_name() -> None:
    with pytest.raises(ValidationFailed, match="Feld 1: der Name „“ ist ungültig"):
        parse_definition([{"label": "Feld"}])


def test_parse_refuses_duplicate_names() -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_definition(
            [{"name": "a", "label": "A"}, {"name": "b", "label": "B"}, {"name": "a", "label": "C"}]
        )
    assert caught.value.errors["form_definition"] == "Feld 3: der Name „a“ ist doppelt."


@pytest.mark.parametrize("kind", ["file", "number", "Text", "", None])
def test_parse_refuses_unknown_types(kind: object) -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_definition([{"name": "x", "label": "X", "type": kind}])
    assert caught.value.errors["form_definition"] == f"Feld 1: unbekannter Typ „{kind}“."


@pytest.mark.parametrize("kind", FIELD_TYPES)
def test_parse_accepts_every_known_type(kind: str) -> None:
    item: dict[str, Any] = {"name": "x", "label": "X", "type": kind}
    if kind == "select":
        item["options"] = [{"value": "a"}]
    assert parse_definition([item])[0].type == kind


@pytest.mark.parametrize("label", [None, "", "   ", 5])
def test_parse_refuses_missing_labels(label: object) -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_definition([{"name": "x", "label": label}])
    assert caught.value.errors["form_definition"] == "Feld 1: die Beschriftung fehlt."


def test_parse_refuses_a_select_without_options() -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_definition([{"name": "x", "label": "X", "type": "select", "options": []}])
    assert caught.value.errors["form_definition"] == (
        "Feld 1: eine Auswahl braucht mindestens eine Option."
    )


@pytest.mark.parametrize("options", [[{"label": "ohne Wert"}], ["a", "b"]])
def test_parse_refuses_options_that_are_not_value_label_objects(options: list[object]) -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_definition([{"name": "x", "label": "X", "type": "select", "options": options}])
    assert caught.value.errors["form_definition"] == (
        "Feld 1: Optionen sind eine Liste von {value, label}."
    )


def test_parse_refuses_a_select_with_no_options_key() -> None:
    with pytest.raises(ValidationFailed, match="mindestens eine Option"):
        parse_definition([{"name": "x", "label": "X", "type": "select"}])


@pytest.mark.parametrize("key", ["min_value", "max_value", "max_length"])
@pytest.mark.parametrize("value", ["5", 1.5, True])
def test_parse_refuses_bounds_that_are_not_integers(key: str, value: object) -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_definition([{"name": "x", "label": "X", "type": "integer", key: value}])
    assert caught.value.errors["form_definition"] == (
        "Feld 1: Grenzwerte müssen ganze Zahlen sein."
    )


@pytest.mark.parametrize("options", [5, None])
def test_parse_refuses_options_that_are_not_a_list(options: object) -> None:
    with pytest.raises(ValidationFailed):
        parse_definition([{"name": "x", "label": "X", "type": "select", "options": options}])


# --- answers: happy path ----------------------------------------------------------------------


def test_valid_answers_are_cleaned() -> None:
    cleaned = validate_answers(
        FIELDS,
        {
            "name": "  Erika Mustermann ",
            "remarks": "",
            "email": "erika@example.org",
            "phone": "+49 (221) 123-45/6",
            "pages": "3",
            "wedding_day": "24.12.2026",
            "format": "long",
            "consent": "on",
        },
    )
    assert cleaned == {
        "name": "Erika Mustermann",
        "remarks": None,
        "email": "erika@example.org",
        "phone": "+49 (221) 123-45/6",
        "pages": 3,
        "wedding_day": "2026-12-24",
        "format": "long",
        "consent": True,
        "newsletter": False,
    }


def test_keys_outside_the_definition_are_dropped() -> None:
    cleaned = validate_answers(FIELDS, {**VALID, "amount": "0,01", "is_staff": "1"})
    assert "amount" not in cleaned
    assert "is_staff" not in cleaned


@pytest.mark.parametrize(
    ("typed", "iso"),
    [
        ("24.12.2026", "2026-12-24"),
        ("1.2.2026", "2026-02-01"),
        ("01.02.2026", "2026-02-01"),
        ("29.02.2028", "2028-02-29"),
        ("2026-12-24", "2026-12-24"),
        (" 2026-02-01 ", "2026-02-01"),
    ],
)
def test_dates_in_german_and_iso_notation(typed: str, iso: str) -> None:
    assert _one({"type": "date"}, typed) == iso


@pytest.mark.parametrize(
    "typed", ["31.02.2026", "29.02.2027", "24.12.26", "12/24/2026", "2026-13-01", "morgen", "1.1.0"]
)
def test_dates_that_do_not_exist_or_do_not_parse(typed: str) -> None:
    assert _one_error({"type": "date"}, typed) == (
        "Bitte geben Sie bei „Feld“ ein Datum ein, z. B. 24.12.2026."
    )


@pytest.mark.parametrize(
    ("typed", "number"), [("7", 7), ("+7", 7), ("-3", -3), (" 12 ", 12), ("007", 7), (42, 42)]
)
def test_integers(typed: object, number: int) -> None:
    assert _one({"type": "integer"}, typed) == number


@pytest.mark.parametrize("typed", ["1,5", "1.5", "3 Seiten", "1e3", "1234567890", "--1", "½"])
def test_integers_refused(typed: str) -> None:
    assert _one_error({"type": "integer"}, typed) == (
        "Bitte geben Sie bei „Feld“ eine ganze Zahl ein."
    )


def test_integers_out_of_range_say_the_bound() -> None:
    bounded = {"type": "integer", "min_value": 1, "max_value": 50}
    assert _one(bounded, "1") == 1
    assert _one(bounded, "50") == 50
    assert _one_error(bounded, "0") == "„Feld“ muss mindestens 1 sein."
    assert _one_error(bounded, "-2") == "„Feld“ muss mindestens 1 sein."
    assert _one_error(bounded, "51") == "„Feld“ darf höchstens 50 sein."


@pytest.mark.parametrize(
    ("value", "checked"),
    [
        ("on", True),
        ("1", True),
        ("true", True),
        (True, True),
        ("yes", True),
        (None, False),
        ("", False),
        (False, False),
        ("0", False),
        ("false", False),
        ("off", False),
    ],
)
def test_checkbox(value: object, checked: bool) -> None:
    assert _one({"type": "checkbox"}, value) is checked


def test_required_checkbox_must_be_ticked() -> None:
    fields = parse_definition(
        [{"name": "ok", "label": "Ich stimme zu", "type": "checkbox", "required": True}]
    )
    assert _errors(fields, {"ok": "off"}) == {"ok": "Bitte bestätigen Sie: Ich stimme zu."}
    assert _errors(fields, {}) == {"ok": "Bitte bestätigen Sie: Ich stimme zu."}
    assert validate_answers(fields, {"ok": "on"}) == {"ok": True}


def test_select_with_an_unknown_option() -> None:
    select = {"type": "select", "options": [{"value": "a", "label": "A"}]}
    assert _one(select, "a") == "a"
    # The label is not the value.
    assert _one_error(select, "A") == (
        "Bitte wählen Sie bei „Feld“ eine der angebotenen Möglichkeiten."
    )
    assert "Möglichkeiten" in _one_error(select, "b")


@pytest.mark.parametrize("typed", ["erika@example.org", "e.m+tag@stadt-dueren.de"])
def test_email_accepted(typed: str) -> None:
    assert _one({"type": "email"}, typed) == typed


@pytest.mark.parametrize(
    "typed", ["erika", "erika@", "@example.org", "erika@@example.org", "a b@c.de"]
)
def test_email_refused(typed: str) -> None:
    assert _one_error({"type": "email"}, typed) == (
        "Bitte geben Sie bei „Feld“ eine E-Mail-Adresse ein, z. B. name@beispiel.de."
    )


@pytest.mark.parametrize("typed", ["0221 12345", "+49 221 123456", "(02421) 25-0"])
def test_phone_accepted(typed: str) -> None:
    assert _one({"type": "phone"}, typed) == typed


@pytest.mark.parametrize("typed", ["1234", "call me", "0221 12345 ext. 7", "+49" + "1" * 30])
def test_phone_refused(typed: str) -> None:
    assert _one_error({"type": "phone"}, typed) == (
        "Bitte geben Sie bei „Feld“ eine Telefonnummer ein."
    )


def test_text_length_limits() -> None:
    assert _one({"type": "text"}, "x" * 200) == "x" * 200
    assert _one_error({"type": "text"}, "x" * 201) == "„Feld“ darf höchstens 200 Zeichen lang sein."
    assert _one({"type": "textarea"}, "x" * 2000) == "x" * 2000
    assert _one_error({"type": "textarea"}, "x" * 2001) == (
        "„Feld“ darf höchstens 2000 Zeichen lang sein."
    )
    assert _one_error({"type": "text", "max_length": 5}, "sechs!") == (
        "„Feld“ darf höchstens 5 Zeichen lang sein."
    )
    # The limit counts what remains after trimming.
    assert _one({"type": "text", "max_length": 5}, "  fünf  ") == "fünf"


@pytest.mark.parametrize("blank", [None, "", "   ", "\n\t"])
def test_required_fields_must_be_filled(blank: object) -> None:
    errors = _errors(FIELDS, {**VALID, "name": blank})
    assert errors == {"name": "Bitte füllen Sie das Feld „Name“ aus."}


def test_optional_blank_fields_are_none() -> None:
    cleaned = validate_answers(FIELDS, {**VALID, "pages": "  ", "wedding_day": None})
    assert cleaned["pages"] is None
    assert cleaned["wedding_day"] is None


def test_all_errors_are_collected_at_once() -> None:
    errors = _errors(
        FIELDS,
        {
            "name": "",
            "email": "keine-adresse",
            "phone": "?",
            "pages": "99",
            "wedding_day": "32.12.2026",
            "format": "medium",
            "remarks": "x" * 2001,
        },
    )
    assert set(errors) == {
        "name",
        "email",
        "phone",
        "pages",
        "wedding_day",
        "format",
        "consent",
        "remarks",
    }
    assert errors["pages"] == "„Seiten“ darf höchstens 50 sein."
    assert errors["consent"] == "Bitte bestätigen Sie: Ich stimme zu."


def test_validation_failed_names_the_first_field() -> None:
    with pytest.raises(ValidationFailed) as caught:
        validate_answers(FIELDS, {"email": "erika@example.org", "consent": "on"})
    assert caught.value.field == "name"
    assert caught.value.message == "Bitte füllen Sie das Feld „Name“ aus."
    assert caught.value.code == "validation_failed"


# --- property ---------------------------------------------------------------------------------

ALL_TYPES = parse_definition(
    [
        {
            "name": f"f_{kind}",
            "label": kind,
            "type": kind,
            "required": i % 2 == 0,
            "min_value": -5 if kind == "integer" else None,
            "max_value": 500 if kind == "integer" else None,
            "options": [{"value": "a"}, {"value": "b"}],
        }
        for i, kind in enumerate(FIELD_TYPES)
    ]
)


TRICKY = [
    "31.02.2026",
    "99.99.9999",
    "1.1.0000",
    "\u0661.\u0661.\u0662\u0660\u0662\u0666",  # Arabic-Indic digits in a German date
    "\uff12\uff10\uff12\uff16-01-01",  # full-width digits in an ISO date
    "2026-W01-1",
    "0000-00-00",
    "+",
    "1" * 10,
    "\x00",
    "a@b",
    "@",
    "x@" + "y" * 300 + ".de",
    "\u00e9rika@stra\u00dfe.de",
]


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(
    st.dictionaries(
        st.sampled_from([f.name for f in ALL_TYPES] + ["other"]),
        st.one_of(st.text(), st.sampled_from(TRICKY), st.none(), st.booleans(), st.integers()),
    )
)
def test_validate_answers_never_raises_anything_but_validation_failed(
    data: dict[str, object],
) -> None:
    errors: dict[str, str] = {}
    cleaned: dict[str, str | int | bool | None] = {}
    try:
        cleaned = validate_answers(ALL_TYPES, data)
    except ValidationFailed as exc:
        errors = exc.errors
    if errors:
        assert set(errors) <= {f.name for f in ALL_TYPES}
        assert all(isinstance(m, str) and m for m in errors.values())
    else:
        assert set(cleaned) == {f.name for f in ALL_TYPES}
        number = cleaned["f_integer"]
        assert number is None or (isinstance(number, int) and -5 <= number <= 500)
        assert isinstance(cleaned["f_checkbox"], bool)
        assert cleaned["f_select"] in (None, "a", "b")
