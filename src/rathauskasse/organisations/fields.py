"""Model fields for codes people type with spaces: IBAN, BIC."""

from __future__ import annotations

from typing import Any

from django.db import models


class CompactCodeField(models.CharField):  # type: ignore[type-arg]
    """Stores a code without any whitespace and in upper case ("de02 1203 ..." -> "DE021203...").

    Normalising in `to_python` means length and format are checked on the compact value, so a
    correctly typed IBAN in groups of four is never refused as too long.
    """

    def to_python(self, value: Any) -> Any:
        value = super().to_python(value)
        return "".join(value.split()).upper() if isinstance(value, str) else value

    def get_prep_value(self, value: Any) -> Any:
        return self.to_python(super().get_prep_value(value))
