"""Form fields as the shared field template renders them (portal/includes/field.html)."""

from __future__ import annotations

from typing import Any


def field(
    name: str,
    label: str,
    *,
    value: Any = "",
    error: str = "",
    required: bool = False,
    hint: str = "",
    input_type: str = "text",
    kind: str = "text",
    options: tuple[dict[str, str], ...] = (),
    autocomplete: str = "",
    inputmode: str = "",
) -> dict[str, Any]:
    field_id = f"feld-{name}"
    described = [f"{field_id}-hint"] if hint else []
    if error:
        described.append(f"{field_id}-error")
    return {
        "id": field_id,
        "name": name,
        "label": label,
        "value": value,
        "error": error,
        "required": required,
        "hint": hint,
        "type": kind,
        "input_type": input_type,
        "options": options,
        "autocomplete": autocomplete,
        "inputmode": inputmode,
        "described_by": " ".join(described),
    }


def error_list(fields: list[dict[str, Any]], general: str = "") -> list[dict[str, str]]:
    listed = [{"id": f["id"], "message": f["error"]} for f in fields if f["error"]]
    if general:
        listed.insert(0, {"id": "inhalt", "message": general})
    return listed
