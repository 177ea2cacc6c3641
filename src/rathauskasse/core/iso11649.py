"""ISO 11649 creditor references ("RF" references): a payment reference with two check digits.

Form: `RF`, two check digits, then 1 to 21 letters or digits (at most 25 characters). The check
is ISO 7064 MOD 97-10, as for an IBAN: move the first four characters to the end, replace every
letter by two digits (A = 10 … Z = 35), and the number must leave 1 when divided by 97. Banks
verify it when a payer types the reference, so a typing error is caught before the money leaves.
"""

from __future__ import annotations

import re

PREFIX = "RF"
MAX_BODY = 21
_BODY = re.compile(r"[0-9A-Z]{1,21}")
_SEPARATORS = re.compile(r"[\s\-]+")


def _numeric(text: str) -> int:
    return int("".join(str(int(char, 36)) for char in text))


def check_digits(body: str) -> str:
    """The two check digits of `body` (1–21 characters 0-9, A-Z)."""
    if not _BODY.fullmatch(body):
        raise ValueError(f"an ISO 11649 reference body is 1-21 characters 0-9 A-Z, got {body!r}")
    return f"{98 - _numeric(body + PREFIX + '00') % 97:02d}"


def creditor_reference(body: str) -> str:
    """`RF` + check digits + body, compact ("RF18539007547034")."""
    compact = normalise(body)
    return f"{PREFIX}{check_digits(compact)}{compact}"


def normalise(text: str) -> str:
    """Without spaces or dashes and in upper case, as a payer may type it."""
    return _SEPARATORS.sub("", text).upper()


def is_valid(reference: str) -> bool:
    compact = normalise(reference)
    if not (compact.startswith(PREFIX) and 5 <= len(compact) <= 4 + MAX_BODY):
        return False
    digits, body = compact[2:4], compact[4:]
    if not (digits.isdigit() and digits.isascii() and _BODY.fullmatch(body)):
        return False
    return _numeric(body + compact[:4]) % 97 == 1


def display(reference: str) -> str:
    """In groups of four for reading and typing: "RF18 5390 0754 7034"."""
    compact = normalise(reference)
    return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))
