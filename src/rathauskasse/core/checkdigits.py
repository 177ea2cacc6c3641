"""Check-digit algorithms for reference numbers (Kassenzeichen), pluggable by identifier.

Each algorithm maps a string of digits to one check digit. New algorithms register with
`register()`; the organisation's Kassenzeichen scheme names one by its identifier.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

CheckDigitFunction = Callable[[str], str]


@dataclass(frozen=True, slots=True)
class Algorithm:
    identifier: str
    label: str
    compute: CheckDigitFunction

    @property
    def width(self) -> int:
        return 0 if self.identifier == NONE else 1


def _digits(number: str) -> list[int]:
    if not number.isdigit() or not number.isascii():
        raise ValueError(f"check digits are computed over digits only, got {number!r}")
    return [int(c) for c in number]


def luhn(number: str) -> str:
    """Luhn mod 10: from the right every second digit doubled (digit sum); total ≡ 0 mod 10."""
    total = 0
    for position, digit in enumerate(reversed(_digits(number)), start=1):
        value = digit * 2 if position % 2 == 1 else digit
        total += value - 9 if value > 9 else value
    return str((10 - total % 10) % 10)


def mod11(number: str) -> str:
    """Mod 11 with weights 2, 3, 4, 5, 6, 7 repeating from the right.

    Check = 11 - (sum mod 11); a result of 11 gives 0 and, as in the German bank-account method 06,
    a result of 10 gives 0 as well, so every number has a one-digit check.
    """
    weights = (2, 3, 4, 5, 6, 7)
    total = sum(
        digit * weights[i % len(weights)] for i, digit in enumerate(reversed(_digits(number)))
    )
    check = (11 - total % 11) % 11
    return "0" if check == 10 else str(check)


_POWER_CYCLE = (2, 4, 8, 7, 5, 1)


def weighted_2n(number: str) -> str:
    """The "weighted 2^n" scheme of public-sector finance software.

    Position p from the right (p = 1 rightmost) is weighted with 2^p reduced by repeated digit
    sums to 1..9 (cycle 2, 4, 8, 7, 5, 1); each product m = d·w counts as m mod 9 (9 when that
    is 0 and m ≠ 0); the check is (10 - S mod 10) mod 10 of their sum S.
    """
    total = 0
    for position, digit in enumerate(reversed(_digits(number))):
        product = digit * _POWER_CYCLE[position % len(_POWER_CYCLE)]
        reduced = product % 9
        total += 9 if reduced == 0 and product != 0 else reduced
    return str((10 - total % 10) % 10)


def _none(number: str) -> str:
    _digits(number)
    return ""


LUHN = "luhn"
MOD11 = "mod11"
WEIGHTED_2N = "weighted2n"
NONE = "none"

_registry: dict[str, Algorithm] = {}


def register(algorithm: Algorithm) -> None:
    _registry[algorithm.identifier] = algorithm


def get(identifier: str) -> Algorithm:
    try:
        return _registry[identifier]
    except KeyError:
        raise LookupError(f"unknown check-digit algorithm {identifier!r}") from None


def choices() -> list[tuple[str, str]]:
    return [(a.identifier, a.label) for a in _registry.values()]


register(Algorithm(LUHN, "Luhn (Modulo 10)", luhn))
register(Algorithm(MOD11, "Modulo 11, Gewichte 2–7", mod11))
register(Algorithm(WEIGHTED_2N, "Gewichtet 2ⁿ (Modulo 10)", weighted_2n))
register(Algorithm(NONE, "ohne Prüfziffer", _none))
