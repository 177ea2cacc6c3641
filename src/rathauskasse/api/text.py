"""Text an API request may carry into the database.

JSON can spell characters that no text column can hold: NUL (`\\u0000`), which PostgreSQL
refuses in text, and lone UTF-16 surrogates (`\\ud800` without its pair), which are not
characters at all and cannot be encoded as UTF-8. Both are refused when the body is read, with
the place they were found, so that they never reach a query.
"""

from __future__ import annotations

import re
from typing import Any

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def unstorable(value: Any, path: str = "") -> str | None:
    """Where in `value` (parsed JSON) the first string with such a character is, else None."""
    if isinstance(value, str):
        return (path or "body") if _UNSTORABLE.search(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if _UNSTORABLE.search(str(key)):
                return where
            found = unstorable(item, where)
            if found is not None:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = unstorable(item, f"{path}.{index}" if path else str(index))
            if found is not None:
                return found
    return None


MESSAGE = (
    "Der Text enthält ein Zeichen, das nicht gespeichert werden kann "
    "(NUL oder ein einzelnes Surrogat)."
)
