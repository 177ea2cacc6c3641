"""The demo's online service: created once, and the printed curl example works."""

from __future__ import annotations

import io
import re

import pytest
from django.core.management import call_command
from django.test import Client
from tests.api.xbezahldienste.conftest import basic

from rathauskasse.api.models import XBezahldiensteEndpoint
from rathauskasse.core.models import AuditEntry

pytestmark = pytest.mark.django_db


def _load() -> str:
    out = io.StringIO()
    call_command("load_demo", stdout=out)
    return out.getvalue()


def test_load_demo_makes_the_pair_once_and_its_curl_example_works(client: Client) -> None:
    printed = _load()
    endpoint = XBezahldiensteEndpoint.objects.get()
    assert (endpoint.originator_id, endpoint.endpoint_id) == ("demo-portal", "musterstadt")
    assert endpoint.organisation.slug == "musterstadt"
    assert endpoint.department.name == "Bürgeramt"
    assert endpoint.required_booking_keys == ["Haushaltsstelle"]
    assert "HTTP Basic demo:demo-secret" in printed

    match = re.search(r"curl -u demo:demo-secret -H '[^']+' -d '([^']+)' (\S+)", printed)
    assert match is not None, printed
    body, url = match.groups()
    response = client.post(
        url.removeprefix("http://127.0.0.1:8000").removeprefix("http://testserver"),
        data=body,
        content_type="application/json",
        HTTP_AUTHORIZATION=basic("demo", "demo-secret"),
    )
    assert response.status_code == 200, response.content
    assert response.json()["paymentInformation"]["status"] == "INITIAL"

    audits = AuditEntry.objects.count()
    again = _load()
    assert XBezahldiensteEndpoint.objects.count() == 1
    assert AuditEntry.objects.count() == audits
    assert "demo-portal/musterstadt" in again
