"""Fee rules: how the amount of a service is computed from the citizen's answers.

The server computes every amount from the rule and the validated answers; no amount a client
sends is ever trusted. Kinds: free, fixed, per unit (quantity field x unit price), by option
(a select field's option decides the amount); each may be bounded by a minimum and a maximum.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import models

from rathauskasse.catalogue.formdefs import FormField
from rathauskasse.core.errors import ValidationFailed
from rathauskasse.core.money import Money


class FeeKind(models.TextChoices):
    FREE = "free", "gebührenfrei"
    FIXED = "fixed", "fester Betrag"
    PER_UNIT = "per_unit", "je Einheit"
    BY_OPTION = "by_option", "nach Auswahl"


@dataclass(frozen=True, slots=True)
class FeeLine:
    text: str
    amount_cents: int


@dataclass(frozen=True, slots=True)
class FeeBreakdown:
    lines: tuple[FeeLine, ...]
    total_cents: int
    note: str = ""

    @property
    def is_free(self) -> bool:
        return self.total_cents == 0


@dataclass(frozen=True, slots=True)
class FeeRule:
    kind: FeeKind
    amount_cents: int = 0
    unit_label: str = ""
    quantity_field: str = ""
    option_field: str = ""
    option_amounts: Mapping[str, int] = field(default_factory=dict)
    min_cents: int | None = None
    max_cents: int | None = None

    # --- consistency --------------------------------------------------------------------------
    def check(self, fields: Sequence[FormField]) -> None:
        """Refuse a rule that cannot compute with this form (raised when the service is saved)."""
        by_name = {f.name: f for f in fields}
        errors: dict[str, str] = {}
        if self.kind in (FeeKind.FIXED, FeeKind.PER_UNIT) and self.amount_cents <= 0:
            errors["fee_amount_cents"] = "Der Betrag muss größer als 0 sein."
        if self.kind == FeeKind.PER_UNIT:
            quantity = by_name.get(self.quantity_field)
            if quantity is None or quantity.type != "integer":
                errors["fee_quantity_field"] = "Wählen Sie ein Zahlenfeld des Formulars als Menge."
            elif quantity.min_value is None or quantity.min_value < 0:
                errors["fee_quantity_field"] = "Das Mengenfeld braucht einen Mindestwert ≥ 0."
            if not self.unit_label:
                errors["fee_unit_label"] = "Nennen Sie die Einheit, z. B. „Seite“."
        if self.kind == FeeKind.BY_OPTION:
            option = by_name.get(self.option_field)
            if option is None or option.type != "select":
                errors["fee_option_field"] = "Wählen Sie ein Auswahlfeld des Formulars."
            else:
                missing = [o.label for o in option.options if o.value not in self.option_amounts]
                if missing:
                    errors["fee_option_amounts"] = "Es fehlt ein Betrag für: " + ", ".join(missing)
            if any(type(c) is not int or c < 0 for c in self.option_amounts.values()):
                errors["fee_option_amounts"] = (
                    "Beträge sind ganze, nicht negative Centbeträge (z. B. 2500 für 25,00 €)."
                )
        for name, bound in (("fee_min_cents", self.min_cents), ("fee_max_cents", self.max_cents)):
            if bound is not None and (type(bound) is not int or bound < 0):
                errors[name] = "Grenzen sind nicht negative Centbeträge."
        if (
            self.min_cents is not None
            and self.max_cents is not None
            and self.min_cents > self.max_cents
        ):
            errors["fee_max_cents"] = "Der Höchstbetrag liegt unter dem Mindestbetrag."
        if self.kind == FeeKind.FREE and (self.min_cents or self.max_cents):
            errors["fee_min_cents"] = "Eine gebührenfreie Leistung hat keine Grenzen."
        if errors:
            raise ValidationFailed(errors)

    # --- computing ----------------------------------------------------------------------------
    def compute(self, answers: Mapping[str, Any], fields: Sequence[FormField]) -> FeeBreakdown:
        """The fee for validated answers, with the lines a citizen sees on the summary page."""
        by_name = {f.name: f for f in fields}
        lines: list[FeeLine]
        if self.kind == FeeKind.FREE:
            return FeeBreakdown(lines=(), total_cents=0)
        if self.kind == FeeKind.FIXED:
            lines = [FeeLine("Gebühr", self.amount_cents)]
        elif self.kind == FeeKind.PER_UNIT:
            quantity = int(answers.get(self.quantity_field) or 0)
            unit = Money(self.amount_cents).format_de()
            label = by_name[self.quantity_field].label if self.quantity_field in by_name else ""
            lines = [
                FeeLine(
                    f"{quantity} × {unit} je {self.unit_label}" + (f" ({label})" if label else ""),
                    quantity * self.amount_cents,
                )
            ]
        else:
            choice = str(answers.get(self.option_field) or "")
            if choice not in self.option_amounts:
                raise ValidationFailed(
                    {self.option_field: "Bitte wählen Sie eine der angebotenen Möglichkeiten."}
                )
            option_field = by_name.get(self.option_field)
            text = option_field.option_label(choice) if option_field else choice
            lines = [FeeLine(text, self.option_amounts[choice])]
        subtotal = sum(line.amount_cents for line in lines)
        total, note = self._bounded(subtotal)
        if total != subtotal:
            lines.append(FeeLine(note, total - subtotal))
        return FeeBreakdown(lines=tuple(lines), total_cents=total, note=note)

    def _bounded(self, cents: int) -> tuple[int, str]:
        if self.min_cents is not None and cents < self.min_cents:
            return self.min_cents, f"Mindestgebühr {Money(self.min_cents).format_de()}"
        if self.max_cents is not None and cents > self.max_cents:
            return self.max_cents, f"Höchstgebühr {Money(self.max_cents).format_de()}"
        return cents, ""

    # --- words --------------------------------------------------------------------------------
    def describe(self, fields: Sequence[FormField] = ()) -> str:
        """The rule in words for the service page, e.g. "5,00 € je Seite"."""
        if self.kind == FeeKind.FREE:
            return "gebührenfrei"
        if self.kind == FeeKind.FIXED:
            text = Money(self.amount_cents).format_de()
        elif self.kind == FeeKind.PER_UNIT:
            text = f"{Money(self.amount_cents).format_de()} je {self.unit_label}"
        else:
            by_name = {f.name: f for f in fields}
            option_field = by_name.get(self.option_field)
            parts = [
                f"{option_field.option_label(value) if option_field else value}: "
                f"{Money(cents).format_de()}"
                for value, cents in self.option_amounts.items()
            ]
            text = "je nach Auswahl – " + "; ".join(parts)
        bounds = []
        if self.min_cents is not None:
            bounds.append(f"mindestens {Money(self.min_cents).format_de()}")
        if self.max_cents is not None:
            bounds.append(f"höchstens {Money(self.max_cents).format_de()}")
        return f"{text} ({', '.join(bounds)})" if bounds else text
