"""A fixed-window rate limit in the shared cache (per client, per action).

Used where guessing must be slow: the Kassenzeichen lookup of the portal. With several web
processes the cache must be shared (CACHE_URL=redis://...), or each process counts alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.cache import DEFAULT_CACHE_ALIAS, cache, caches
from django.core.cache.backends.redis import RedisCache

from rathauskasse.core import clock


@dataclass(frozen=True, slots=True)
class Verdict:
    allowed: bool
    #: Seconds until the window ends and the client may try again.
    retry_after: int


#: Count and, on a window's first hit, set the expiry: atomic, in one round trip to Redis.
_COUNT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return count
"""


def hit(*, key: str, limit: int, window_seconds: int = 60) -> Verdict:
    """Count one attempt for `key`; allowed while at most `limit` fall in the current window."""
    now = int(clock.now().timestamp())
    retry_after = window_seconds - now % window_seconds
    bucket = f"ratelimit:{key}:{now // window_seconds}"
    backend = caches[DEFAULT_CACHE_ALIAS]  # `cache` is a proxy: isinstance needs the backend
    count = (
        _count_in_redis(backend, bucket, window_seconds + 1)
        if isinstance(backend, RedisCache)
        else None
    )
    if count is None:
        # Counting first: every hit but a window's first is one increment.
        try:
            count = cache.incr(bucket)
        except ValueError:  # the window's first hit, unless another process counted it meanwhile
            count = 1 if cache.add(bucket, 1, timeout=window_seconds + 1) else cache.incr(bucket)
    return Verdict(allowed=count <= limit, retry_after=retry_after)


def _count_in_redis(backend: RedisCache, bucket: str, timeout: int) -> int:
    """One round trip instead of two (Django's `incr` asks whether the key exists first).

    The key is the cache's own (prefix, version), and Redis keeps integers as they are, so
    `cache.get` reads the same count.
    """
    name = backend.make_and_validate_key(bucket)
    redis: Any = backend
    client = redis._cache.get_client(name, write=True)  # no public way to the client
    return int(client.eval(_COUNT, 1, name, timeout))


def client_key(remote_addr: str | None) -> str:
    """The client as the rate limit sees it: its address (set by the proxy in front)."""
    return remote_addr or "unknown"
