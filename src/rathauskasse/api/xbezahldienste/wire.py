"""The wire format: JSON read and written exactly, amounts converted to cents without floats.

JSON numbers are read as `Decimal` (never float) and written back digit for digit, so the
`paymentRequest` a client gets back is the one it sent. Only UTF-8 is accepted (RFC 8259), an
object with duplicate keys is refused (its meaning would depend on the parser), and so are
NaN and Infinity, which are no JSON at all.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

#: The largest amount the standard allows (grosAmount ≤ 999999 euros).
MAX_AMOUNT = Decimal(999999)


class MalformedJson(ValueError):
    """The body is not one JSON object in UTF-8."""


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise MalformedJson(f"Der Schlüssel „{key}“ kommt mehrfach vor.")
        result[key] = value
    return result


def _no_constant(name: str) -> Any:
    raise MalformedJson(f"„{name}“ ist keine Zahl in JSON.")


def loads(body: bytes) -> Any:
    """Parse a request body; raises `MalformedJson` with a German reason."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedJson("Der Inhalt ist nicht in UTF-8 kodiert.") from None
    try:
        return json.loads(
            text,
            parse_float=Decimal,
            parse_constant=_no_constant,
            object_pairs_hook=_no_duplicates,
        )
    except MalformedJson:
        raise
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, too many digits, too deep
        raise MalformedJson("Der Inhalt ist kein gültiges JSON.") from exc


def dumps(value: Any) -> str:
    """Serialise dicts, lists, strings, booleans, None, ints and Decimals; Decimals as numbers."""
    parts: list[str] = []
    _write(value, parts)
    return "".join(parts)


def _write(value: Any, out: list[str]) -> None:
    if isinstance(value, dict):
        out.append("{")
        for index, (key, item) in enumerate(value.items()):
            if index:
                out.append(",")
            out.append(json.dumps(str(key), ensure_ascii=False))
            out.append(":")
            _write(item, out)
        out.append("}")
    elif isinstance(value, list | tuple):
        out.append("[")
        for index, item in enumerate(value):
            if index:
                out.append(",")
            _write(item, out)
        out.append("]")
    elif isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError("not a finite number")
        out.append(str(value))
    elif value is None or isinstance(value, str | bool | int):
        out.append(json.dumps(value, ensure_ascii=False))
    else:
        raise TypeError(f"cannot write {type(value).__name__} as JSON")


class NotCents(ValueError):
    """An amount that is negative, too large, or has a fraction of a cent."""


def to_cents(amount: Decimal | int) -> int:
    """Euros (as sent) to integer cents, exactly; a fraction of a cent is refused, not rounded."""
    if isinstance(amount, bool) or not isinstance(amount, Decimal | int):
        raise NotCents("Der Betrag muss eine Zahl sein.")
    value = Decimal(amount)
    if not value.is_finite():
        raise NotCents("Der Betrag muss eine endliche Zahl sein.")
    if value < 0:
        raise NotCents("Der Betrag darf nicht negativ sein.")
    if value > MAX_AMOUNT:
        raise NotCents("Der Betrag darf höchstens 999999 Euro sein.")
    # Exact arithmetic on the digits: Decimal operations round to the context's precision, and a
    # long enough fraction (1.0000…0001) would otherwise round to whole cents.
    _, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    trimmed = list(digits)
    while exponent < -2 and trimmed and trimmed[-1] == 0:
        trimmed.pop()
        exponent += 1
    if exponent < -2 and any(trimmed):
        raise NotCents("Der Betrag hat mehr als zwei Nachkommastellen (Bruchteile eines Cents).")
    number = int("".join(map(str, trimmed)) or "0")
    if number == 0:
        return 0
    # Here exponent ≥ -2, and value ≤ 999999 bounds it from above: the power stays small.
    cents: int = number * 10 ** (exponent + 2)
    return cents
