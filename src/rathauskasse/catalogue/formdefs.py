"""Form definitions of services: a list of typed fields, and server-side validation of answers.

A definition is stored as JSON (a list of objects) so that administrators can edit it; it is parsed
into frozen `FormField`s before use, and a malformed definition is refused when it is saved.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email

from rathauskasse.core.errors import ValidationFailed

FIELD_TYPES = ("text", "textarea", "email", "phone", "integer", "date", "select", "checkbox")
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,49}$")
_PHONE = re.compile(r"^\+?[0-9 ()/-]{5,30}$")


@dataclass(frozen=True, slots=True)
class Option:
    value: str
    label: str


@dataclass(frozen=True, slots=True)
class FormField:
    name: str
    label: str
    type: str = "text"
    required: bool = False
    help_text: str = ""
    options: tuple[Option, ...] = field(default_factory=tuple)
    min_value: int | None = None
    max_value: int | None = None
    max_length: int | None = None

    def option_label(self, value: str) -> str:
        return next((o.label for o in self.options if o.value == value), value)


def parse_definition(raw: Any) -> tuple[FormField, ...]:
    """Parse and check a stored definition; raises `ValidationFailed` naming what is wrong."""
    if not isinstance(raw, list):
        raise ValidationFailed({"form_definition": "Die Formulardefinition muss eine Liste sein."})
    fields: list[FormField] = []
    seen: set[str] = set()
    for index, item in enumerate(raw, start=1):
        where = f"Feld {index}"
        if not isinstance(item, dict):
            raise ValidationFailed({"form_definition": f"{where} ist kein Objekt."})
        name = item.get("name", "")
        if not isinstance(name, str) or not _NAME.match(name):
            raise ValidationFailed(
                {"form_definition": f"{where}: der Name „{name}“ ist ungültig (a–z, 0–9, _)."}
            )
        if name in seen:
            raise ValidationFailed({"form_definition": f"{where}: der Name „{name}“ ist doppelt."})
        seen.add(name)
        kind = item.get("type", "text")
        if kind not in FIELD_TYPES:
            raise ValidationFailed({"form_definition": f"{where}: unbekannter Typ „{kind}“."})
        label = item.get("label")
        if not isinstance(label, str) or not label.strip():
            raise ValidationFailed({"form_definition": f"{where}: die Beschriftung fehlt."})
        raw_options = item.get("options") or []
        if not isinstance(raw_options, list) or not all(
            isinstance(o, dict) and "value" in o for o in raw_options
        ):
            raise ValidationFailed(
                {"form_definition": f"{where}: Optionen sind eine Liste von {{value, label}}."}
            )
        options = tuple(
            Option(value=str(o["value"]), label=str(o.get("label", o["value"])))
            for o in raw_options
        )
        if kind == "select" and not options:
            raise ValidationFailed(
                {"form_definition": f"{where}: eine Auswahl braucht mindestens eine Option."}
            )
        fields.append(
            FormField(
                name=name,
                label=label.strip(),
                type=kind,
                required=bool(item.get("required", False)),
                help_text=str(item.get("help_text", "")),
                options=options,
                min_value=_optional_int(item.get("min_value"), where),
                max_value=_optional_int(item.get("max_value"), where),
                max_length=_optional_int(item.get("max_length"), where),
            )
        )
    return tuple(fields)


def _optional_int(value: Any, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationFailed(
            {"form_definition": f"{where}: Grenzwerte müssen ganze Zahlen sein."}
        )
    return int(value)


def validate_answers(
    fields: Sequence[FormField], data: Mapping[str, Any]
) -> dict[str, str | int | bool | None]:
    """Check a citizen's answers against the definition; returns the cleaned values.

    Every problem is collected (for an error summary), keyed by field name, in German.
    """
    cleaned: dict[str, str | int | bool | None] = {}
    errors: dict[str, str] = {}
    for f in fields:
        raw = data.get(f.name)
        if f.type == "checkbox":
            checked = raw not in (None, "", False, "0", "false", "off")
            if f.required and not checked:
                errors[f.name] = f"Bitte bestätigen Sie: {f.label}."
            cleaned[f.name] = checked
            continue
        text = "" if raw is None else str(raw).strip()
        if not text:
            if f.required:
                errors[f.name] = f"Bitte füllen Sie das Feld „{f.label}“ aus."
            cleaned[f.name] = None
            continue
        try:
            cleaned[f.name] = _clean_value(f, text)
        except ValueError as exc:
            errors[f.name] = str(exc)
    if errors:
        raise ValidationFailed(errors)
    return cleaned


def _clean_value(f: FormField, text: str) -> str | int:
    limit = f.max_length or (2000 if f.type == "textarea" else 200)
    if len(text) > limit:
        raise ValueError(f"„{f.label}“ darf höchstens {limit} Zeichen lang sein.")
    if f.type == "integer":
        if not re.fullmatch(r"[+-]?\d{1,9}", text):
            raise ValueError(f"Bitte geben Sie bei „{f.label}“ eine ganze Zahl ein.")
        number = int(text)
        if f.min_value is not None and number < f.min_value:
            raise ValueError(f"„{f.label}“ muss mindestens {f.min_value} sein.")
        if f.max_value is not None and number > f.max_value:
            raise ValueError(f"„{f.label}“ darf höchstens {f.max_value} sein.")
        return number
    if f.type == "date":
        try:
            if re.fullmatch(r"\d{1,2}\.\d{1,2}\.\d{4}", text):
                return dt.datetime.strptime(text, "%d.%m.%Y").date().isoformat()  # noqa: DTZ007
            return dt.date.fromisoformat(text).isoformat()
        except ValueError:
            raise ValueError(
                f"Bitte geben Sie bei „{f.label}“ ein Datum ein, z. B. 24.12.2026."
            ) from None
    if f.type == "email":
        try:
            validate_email(text)
        except DjangoValidationError:
            raise ValueError(
                f"Bitte geben Sie bei „{f.label}“ eine E-Mail-Adresse ein, z. B. name@beispiel.de."
            ) from None
        return text
    if f.type == "phone":
        if not _PHONE.match(text):
            raise ValueError(f"Bitte geben Sie bei „{f.label}“ eine Telefonnummer ein.")
        return text
    if f.type == "select":
        if text not in {o.value for o in f.options}:
            raise ValueError(
                f"Bitte wählen Sie bei „{f.label}“ eine der angebotenen Möglichkeiten."
            )
        return text
    return text
