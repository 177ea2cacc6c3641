from __future__ import annotations

import datetime as dt

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


@pytest.mark.django_db
def test_the_admin_may_have_inline_styles_but_never_inline_scripts(client: Client) -> None:
    policy = client.get("/admin/login/")["Content-Security-Policy"]
    assert "style-src 'self' 'unsafe-inline'" in policy
    assert "script-src 'self';" in policy
