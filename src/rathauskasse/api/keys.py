"""API keys: their format, and telling a real key from a typo without a database query.

A key reads ``live_<id>_<secret>_<check>`` or ``test_<id>_<secret>_<check>``:

- the mode says what it may do: test keys work only with the sandbox provider;
- ``id`` (10 characters) finds the stored key; ``secret`` (32 characters, 190 bits) proves it;
- ``check`` (6 characters) is a CRC-32 of everything before it, so a mistyped or truncated key is
  refused at once, and secret scanners can recognise leaked keys.

Only a SHA-256 of the secret is stored: the secret is random and long, so a slow hash would add
nothing but latency to every request. The full key is shown once, when it is made.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import zlib
from dataclasses import dataclass

_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_FORMAT = re.compile(r"^(live|test)_([0-9A-Za-z]{10})_([0-9A-Za-z]{32})_([0-9A-Za-z]{6})$")
MODES = ("live", "test")


def _base62(number: int, width: int) -> str:
    digits = []
    for _ in range(width):
        number, rest = divmod(number, 62)
        digits.append(_ALPHABET[rest])
    return "".join(reversed(digits))


def _random(width: int) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(width))


def _check(body: str) -> str:
    return _base62(zlib.crc32(body.encode("ascii")), 6)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


@dataclass(frozen=True, slots=True)
class NewKey:
    mode: str
    key_id: str
    secret: str

    @property
    def token(self) -> str:
        body = f"{self.mode}_{self.key_id}_{self.secret}"
        return f"{body}_{_check(body)}"


@dataclass(frozen=True, slots=True)
class Presented:
    mode: str
    key_id: str
    secret: str


def generate(mode: str) -> NewKey:
    if mode not in MODES:
        raise ValueError(mode)
    return NewKey(mode=mode, key_id=_random(10), secret=_random(32))


def parse(token: str) -> Presented | None:
    """The parts of a well-formed key whose check digits match, else None."""
    match = _FORMAT.match(token.strip())
    if match is None:
        return None
    mode, key_id, secret, check = match.groups()
    if not hmac.compare_digest(check, _check(f"{mode}_{key_id}_{secret}")):
        return None
    return Presented(mode=mode, key_id=key_id, secret=secret)


def matches(secret: str, stored_digest: str) -> bool:
    return hmac.compare_digest(digest(secret), stored_digest)
