"""Kassenzeichen: the cash reference on every letter, transfer and posting.

Form: [fixed digits][year][running number][check digit], digits only, stored compact. People type
it with spaces, dashes, dots or slashes, and sometimes without (or with extra) leading zeros;
`Scheme.normalise` undoes all of that before validation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rathauskasse.core import checkdigits
from rathauskasse.core.errors import DomainError
from rathauskasse.organisations.models import Organisation

_SEPARATORS = re.compile(r"[\s\-./_]+")


class InvalidKassenzeichen(DomainError):
    code = "invalid_kassenzeichen"


@dataclass(frozen=True, slots=True)
class Scheme:
    prefix: str
    year_digits: int
    number_digits: int
    algorithm: str

    @classmethod
    def of(cls, organisation: Organisation) -> Scheme:
        return cls(
            prefix=organisation.kz_prefix,
            year_digits=organisation.kz_year_digits,
            number_digits=organisation.kz_number_digits,
            algorithm=organisation.kz_check_algorithm,
        )

    @property
    def check_width(self) -> int:
        return checkdigits.get(self.algorithm).width

    @property
    def length(self) -> int:
        return len(self.prefix) + self.year_digits + self.number_digits + self.check_width

    def example(self) -> str:
        return self.build(year=2026, number=1)

    def build(self, *, year: int, number: int) -> str:
        if number < 1 or number >= 10**self.number_digits:
            raise InvalidKassenzeichen(
                f"Der Nummernkreis für {year} ist erschöpft ({self.number_digits} Stellen)."
            )
        year_part = f"{year:04d}"[-self.year_digits :] if self.year_digits else ""
        body = f"{self.prefix}{year_part}{number:0{self.number_digits}d}"
        return body + checkdigits.get(self.algorithm).compute(body)

    def normalise(self, text: str) -> str:
        """The compact form of what someone typed; not yet validated."""
        return self._normalise(text, self.length)

    @staticmethod
    def _normalise(text: str, length: int) -> str:
        compact = _SEPARATORS.sub("", text).upper()
        if compact.isdigit():
            if len(compact) < length:
                compact = compact.zfill(length)
            elif len(compact) > length and set(compact[: len(compact) - length]) == {"0"}:
                compact = compact[len(compact) - length :]
        return compact

    def validate(self, text: str) -> str:
        """The canonical Kassenzeichen, or `InvalidKassenzeichen` saying what is wrong."""
        # The algorithm and the length are looked up once: imports validate 100,000 at a time.
        algorithm = checkdigits.get(self.algorithm)
        width = algorithm.width
        length = len(self.prefix) + self.year_digits + self.number_digits + width
        compact = self._normalise(text, length)
        if not compact:
            raise InvalidKassenzeichen(
                "Bitte geben Sie ein Kassenzeichen ein.", field="kassenzeichen"
            )
        if not (compact.isdigit() and compact.isascii()):
            raise InvalidKassenzeichen(
                "Ein Kassenzeichen besteht nur aus Ziffern "
                "(Leerzeichen und Bindestriche sind egal).",
                field="kassenzeichen",
            )
        if len(compact) != length:
            raise InvalidKassenzeichen(
                f"Ein Kassenzeichen hat {length} Ziffern; eingegeben wurden {len(compact)}.",
                field="kassenzeichen",
            )
        if not compact.startswith(self.prefix):
            raise InvalidKassenzeichen(
                f"Kassenzeichen dieser Kasse beginnen mit {self.prefix}.", field="kassenzeichen"
            )
        start = len(self.prefix) + self.year_digits
        if int(compact[start : start + self.number_digits]) == 0:
            raise InvalidKassenzeichen(
                "Dieses Kassenzeichen wird nie vergeben. Bitte prüfen Sie Ihre Eingabe.",
                field="kassenzeichen",
            )
        if width:
            body, check = compact[:-width], compact[-width:]
            if algorithm.compute(body) != check:
                raise InvalidKassenzeichen(
                    "Die Prüfziffer (die letzte Ziffer) passt nicht zum Kassenzeichen. "
                    "Bitte vergleichen Sie es noch einmal mit Ihrem Bescheid.",
                    field="kassenzeichen",
                )
        return compact

    def display(self, canonical: str) -> str:
        """Grouped for reading on letters and pages: "51-26-000123-7"."""
        widths = [len(self.prefix), self.year_digits, self.number_digits, self.check_width]
        parts, start = [], 0
        for width in widths:
            if width:
                parts.append(canonical[start : start + width])
                start += width
        if start != len(canonical):  # imported, free-form Kassenzeichen are shown as they are
            return canonical
        return "-".join(parts)
