from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from django.test import Client

from rathauskasse.core import clock, ratelimit


def test_the_limit_counts_per_key_within_the_window() -> None:
    with clock.frozen(dt.datetime(2026, 11, 25, 10, 0, 15, tzinfo=dt.UTC)):
        verdicts = [ratelimit.hit(key="a", limit=2, window_seconds=60) for _ in range(3)]
        assert ratelimit.hit(key="b", limit=2, window_seconds=60).allowed
    assert [v.allowed for v in verdicts] == [True, True, False]
    assert verdicts[-1].retry_after == 45
    with clock.frozen(dt.datetime(2026, 11, 25, 10, 1, 0, tzinfo=dt.UTC)):  # the next window
        assert ratelimit.hit(key="a", limit=2, window_seconds=60).allowed


def _redis_answers() -> bool:
    import socket

    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def test_in_redis_the_limit_counts_in_one_round_trip_and_the_window_expires(
    settings: Any,
) -> None:
    if not _redis_answers():
        pytest.skip("no Redis at 127.0.0.1:6379")
    from django.core.cache import cache

    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:6379/15",
            "KEY_PREFIX": f"test-{uuid.uuid4().hex}",
        }
    }
    with clock.frozen(dt.datetime(2026, 11, 25, 10, 0, 15, tzinfo=dt.UTC)):
        verdicts = [ratelimit.hit(key="a", limit=2, window_seconds=60) for _ in range(3)]
        assert ratelimit.hit(key="b", limit=2, window_seconds=60).allowed
    assert [v.allowed for v in verdicts] == [True, True, False]
    assert verdicts[-1].retry_after == 45
    bucket = f"ratelimit:a:{int(dt.datetime(2026, 11, 25, 10, 0, tzinfo=dt.UTC).timestamp()) // 60}"
    assert cache.get(bucket) == 3  # the cache reads what the script counted
    redis: Any = cache
    ttl = redis._cache.get_client().ttl(redis.make_and_validate_key(bucket))
    assert 0 < ttl <= 61  # the window's key expires with the window
    cache.clear()


@pytest.mark.django_db
def test_the_admin_may_have_inline_styles_but_never_inline_scripts(client: Client) -> None:
    policy = client.get("/admin/login/")["Content-Security-Policy"]
    assert "style-src 'self' 'unsafe-inline'" in policy
    assert "script-src 'self';" in policy
