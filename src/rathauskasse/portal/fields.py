"""Form fields as the templates render them, built from a service's form definition.

Validation is not done here: `applications.services.review` checks every answer on the server.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from rathauskasse.catalogue.formdefs import FormField, Option

_INPUT_TYPES = {"email": "email", "phone": "tel", "date": "date", "integer": "text"}


@dataclass(frozen=True)
class FieldView:
    id: str
    name: str
    label: str
    type: str
    required: bool
    hint: str
    value: Any
    error: str
    options: tuple[Option, ...] = ()
    autocomplete: str = ""

    @property
    def input_type(self) -> str:
        return _INPUT_TYPES.get(self.type, "text")

    @property
    def inputmode(self) -> str:
        return "numeric" if self.type == "integer" else ""

    @property
    def described_by(self) -> str:
        ids = []
        if self.hint:
            ids.append(f"{self.id}-hint")
        if self.error:
            ids.append(f"{self.id}-error")
        return " ".join(ids)


def applicant_fields(data: Mapping[str, Any], errors: Mapping[str, str]) -> list[FieldView]:
    return [
        FieldView(
            id="feld-applicant_name",
            name="applicant_name",
            label=_("Vor- und Nachname"),
            type="text",
            required=True,
            hint="",
            value=data.get("applicant_name", ""),
            error=errors.get("applicant_name", ""),
            autocomplete="name",
        ),
        FieldView(
            id="feld-applicant_email",
            name="applicant_email",
            label=_("E-Mail-Adresse"),
            type="email",
            required=False,
            hint=_("Dorthin schicken wir die Bestätigung und die Quittung."),
            value=data.get("applicant_email", ""),
            error=errors.get("applicant_email", ""),
            autocomplete="email",
        ),
    ]


def service_fields(
    fields: Sequence[FormField], data: Mapping[str, Any], errors: Mapping[str, str]
) -> list[FieldView]:
    return [
        FieldView(
            id=f"feld-{f.name}",
            name=f.name,
            label=f.label,
            type=f.type,
            required=f.required,
            hint=f.help_text or (_("z. B. 24.12.2026") if f.type == "date" else ""),
            value=data.get(f.name, ""),
            error=errors.get(f.name, ""),
            options=f.options,
        )
        for f in fields
    ]


def error_list(views: Sequence[FieldView], errors: Mapping[str, str]) -> list[dict[str, str]]:
    """The error summary: each message linking to its field, in the order of the form."""
    listed = [{"id": v.id, "message": v.error} for v in views if v.error]
    known = {v.name for v in views}
    listed += [
        {"id": "inhalt", "message": message} for key, message in errors.items() if key not in known
    ]
    return listed


def display_answer(f: FormField, value: Any) -> str:
    """An answer as the summary page shows it."""
    if value is None or value == "":
        return "–"
    if f.type == "checkbox":
        return _("ja") if value else _("nein")
    if f.type == "select":
        return f.option_label(str(value))
    if f.type == "date":
        year, month, day = str(value).split("-")
        return f"{day}.{month}.{year}"
    return str(value)
