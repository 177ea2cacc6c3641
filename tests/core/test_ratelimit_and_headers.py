from __future__ import annotations

import pytest
from django.test import Client

from rathauskasse.core import ratelimit


def test_the_limit_counts_per_key_within_the_window() -> None:
    verdicts = [ratelimit.hit(key="a", limit=2, window_seconds=60) for _ in range(3)]
    assert [v.allowed for v in verdicts] == [True, True, False]
    assert 0 < verdicts[-1].retry_after <= 60
    assert ratelimit.hit(key="b", limit=2, window_seconds=60).allowed


@pytest.mark.django_db
def test_the_admin_may_have_inline_styles_but_never_inline_scripts(client: Client) -> None:
    policy = client.get("/admin/login/")["Content-Security-Policy"]
    assert "style-src 'self' 'unsafe-inline'" in policy
    assert "script-src 'self';" in policy
