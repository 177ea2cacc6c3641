"""Money as integer cents in euro.

Amounts are exact integers everywhere inside the platform; `Decimal` appears only at the edges
(parsing what people type, formatting, provider payloads). There is no float in this module.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import total_ordering

from rathauskasse.core.errors import DomainError

CURRENCY = "EUR"


class InvalidAmount(DomainError):
    code = "invalid_amount"


@total_ordering
@dataclass(frozen=True, slots=True)
class Money:
    """An amount of euro in cents. Negative amounts are allowed (credits, refunds)."""

    cents: int

    def __post_init__(self) -> None:
        if type(self.cents) is not int:
            raise TypeError(f"Money needs integer cents, got {type(self.cents).__name__}")

    # --- construction -------------------------------------------------------------------------
    @classmethod
    def zero(cls) -> Money:
        return cls(0)

    @classmethod
    def from_decimal(cls, value: Decimal | str) -> Money:
        """Exact conversion from euro; more than two decimal places is an error, not a rounding."""
        try:
            amount = Decimal(value)
        except InvalidOperation as exc:
            raise InvalidAmount(f"„{value}“ ist kein Betrag.") from exc
        if not amount.is_finite():
            raise InvalidAmount(f"„{value}“ ist kein Betrag.")
        cents = amount * 100
        if cents != cents.to_integral_value():
            raise InvalidAmount(f"„{value}“ hat mehr als zwei Nachkommastellen.")
        return cls(int(cents))

    @classmethod
    def parse(cls, text: str) -> Money:
        """Read an amount as people type it, in German or English notation.

        Accepts "1.234,56", "1234,56", "1,234.56", "1234.56", "12", "12,5", "-3,00", "1 234,56 €",
        "EUR 12.00". A single separator followed by exactly three digits is a thousands separator
        ("1.234" is 1234 €), as a German reader means it.
        """
        raw = text.strip()
        cleaned = re.sub(r"(?i)\s*(€|eur)\s*", "", raw).replace("\u00a0", "").replace(" ", "")
        cleaned = cleaned.replace("\u2212", "-")
        sign = 1
        if cleaned.startswith(("-", "+")):
            sign = -1 if cleaned[0] == "-" else 1
            cleaned = cleaned[1:]
        if not re.fullmatch(r"[0-9][0-9.,]*", cleaned or "x"):
            raise InvalidAmount(f"„{text}“ ist kein gültiger Betrag.")
        normalised = _normalise_separators(cleaned, original=text)
        money = cls.from_decimal(normalised)
        return cls(sign * money.cents)

    # --- arithmetic ---------------------------------------------------------------------------
    def __add__(self, other: Money) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        return Money(self.cents + other.cents)

    def __sub__(self, other: Money) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        return Money(self.cents - other.cents)

    def __neg__(self) -> Money:
        return Money(-self.cents)

    def __abs__(self) -> Money:
        return Money(abs(self.cents))

    def __mul__(self, factor: int) -> Money:
        if type(factor) is not int:
            return NotImplemented
        return Money(self.cents * factor)

    __rmul__ = __mul__

    def __lt__(self, other: Money) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        return self.cents < other.cents

    def __bool__(self) -> bool:
        return self.cents != 0

    @staticmethod
    def sum(amounts: Iterable[Money]) -> Money:
        return Money(sum(amount.cents for amount in amounts))

    # --- splitting ----------------------------------------------------------------------------
    def split(self, parts: int) -> list[Money]:
        """Split into `parts` amounts that differ by at most one cent and add up exactly."""
        if parts < 1:
            raise ValueError("parts must be at least 1")
        return self.allocate([1] * parts)

    def allocate(self, weights: Sequence[int]) -> list[Money]:
        """Split in proportion to integer weights; the parts add up to exactly this amount.

        Remainder cents go to the parts with the largest fractional share (largest remainder
        method), ties to the earlier part, so the result is deterministic.
        """
        if not weights or any(w < 0 for w in weights) or sum(weights) == 0:
            raise ValueError("weights must be non-negative with a positive sum")
        total_weight = sum(weights)
        sign = -1 if self.cents < 0 else 1
        cents = abs(self.cents)
        shares = [cents * w // total_weight for w in weights]
        remainders = [cents * w % total_weight for w in weights]
        leftover = cents - sum(shares)
        order = sorted(range(len(weights)), key=lambda i: (-remainders[i], i))
        for i in order[:leftover]:
            shares[i] += 1
        return [Money(sign * share) for share in shares]

    # --- presentation -------------------------------------------------------------------------
    def to_decimal(self) -> Decimal:
        return (Decimal(self.cents) / 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)

    def format_plain(self) -> str:
        """ "1234.56": the form of payment payloads and the EPC QR code."""
        return f"{self.to_decimal():.2f}"

    def format_de(self, *, symbol: bool = True) -> str:
        """German notation: "1.234,56 €"."""
        sign = "-" if self.cents < 0 else ""
        euros, cents = divmod(abs(self.cents), 100)
        grouped = f"{euros:,}".replace(",", ".")
        text = f"{sign}{grouped},{cents:02d}"
        return f"{text}\u00a0€" if symbol else text

    def __str__(self) -> str:
        return self.format_de()


def _normalise_separators(number: str, *, original: str) -> str:
    """Turn a number with German or English separators into "1234.56"."""
    commas, dots = number.count(","), number.count(".")
    if commas and dots:
        decimal_sep = "," if number.rfind(",") > number.rfind(".") else "."
        thousands_sep = "." if decimal_sep == "," else ","
        integer, _, fraction = number.rpartition(decimal_sep)
        if decimal_sep in integer or not _grouped_correctly(integer, thousands_sep):
            raise InvalidAmount(f"„{original}“ ist kein gültiger Betrag.")
        return integer.replace(thousands_sep, "") + "." + fraction
    sep = "," if commas else "." if dots else ""
    if not sep:
        return number
    count = commas or dots
    integer, _, fraction = number.rpartition(sep)
    if count == 1 and len(fraction) != 3:
        return f"{integer}.{fraction}"
    # Separators each followed by three digits group thousands ("1.234", "1,234,567").
    if _grouped_correctly(number, sep):
        return number.replace(sep, "")
    raise InvalidAmount(f"„{original}“ ist kein gültiger Betrag.")


def _grouped_correctly(integer: str, sep: str) -> bool:
    groups = integer.split(sep)
    return (
        1 <= len(groups[0]) <= 3
        and all(len(g) == 3 for g in groups[1:])
        and all(g.isdigit() for g in groups)
    )
