"""The platform's clock: the one place that reads the time, so tests can freeze it.

Instants are UTC-aware datetimes; business dates (booking, value, due date) are the date in
Europe/Berlin, because that is the day the cash office and the finance system mean.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from zoneinfo import ZoneInfo

BERLIN = ZoneInfo("Europe/Berlin")

_frozen: dt.datetime | None = None


def now() -> dt.datetime:
    """The current instant, timezone-aware in UTC."""
    if _frozen is not None:
        return _frozen
    return dt.datetime.now(dt.UTC)


def today() -> dt.date:
    """Today's business date in Europe/Berlin."""
    return now().astimezone(BERLIN).date()


@contextmanager
def frozen(at: dt.datetime) -> Iterator[dt.datetime]:
    """Freeze `now()` at `at` (naive values are read as Europe/Berlin) for the block."""
    global _frozen  # noqa: PLW0603 - the clock is process-wide on purpose
    if at.tzinfo is None:
        at = at.replace(tzinfo=BERLIN)
    previous, _frozen = _frozen, at.astimezone(dt.UTC)
    try:
        yield _frozen
    finally:
        _frozen = previous
