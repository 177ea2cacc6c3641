"""A fixed-window rate limit in the shared cache (per client, per action).

Used where guessing must be slow: the Kassenzeichen lookup of the portal. With several web
processes the cache must be shared (CACHE_URL=redis://...), or each process counts alone.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.cache import cache

from rathauskasse.core import clock


@dataclass(frozen=True, slots=True)
class Verdict:
    allowed: bool
    #: Seconds until the window ends and the client may try again.
    retry_after: int


def hit(*, key: str, limit: int, window_seconds: int = 60) -> Verdict:
    """Count one attempt for `key`; allowed while at most `limit` fall in the current window."""
    now = int(clock.now().timestamp())
    retry_after = window_seconds - now % window_seconds
    bucket = f"ratelimit:{key}:{now // window_seconds}"
    # Counting first: every hit but a window's first is one increment (with Redis two round
    # trips instead of three for add-then-increment).
    try:
        count = cache.incr(bucket)
    except ValueError:  # the window's first hit, unless another process counted it meanwhile
        count = 1 if cache.add(bucket, 1, timeout=window_seconds + 1) else cache.incr(bucket)
    return Verdict(allowed=count <= limit, retry_after=retry_after)


def client_key(remote_addr: str | None) -> str:
    """The client as the rate limit sees it: its address (set by the proxy in front)."""
    return remote_addr or "unknown"
