"""Every XBezahldienste operation, fuzzed with schemathesis from the committed OpenAPI document.

The document is docs/api/xbezahldienste.openapi.json (`test_openapi` keeps it equal to the one
the code builds); the harness is `tests/api/contract.py`, the same as for the REST API. The
pair authenticates with HTTP Basic. Requests the document calls valid may still break the
standard's business rules (items that do not add up are `CALCULATION_ERROR`, missing booking
data `BOOKING_DATA_MISSING`, both 400; a repeated requestId is `PAYMENT_EXISTS`, 409), so those
statuses count as answers, not as bugs. Errors must be the standard's problem details: a
`functionalCode` of its catalogue and the response's own status; the OAuth2 token endpoint
answers errors as RFC 6749 does instead.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client
from schemathesis import Case, CheckContext, Response
from tests import factories
from tests.api import contract
from tests.api.xbezahldienste.conftest import BASE, basic, make_pair, payment_request

from rathauskasse.organisations.models import Organisation

schema = contract.load(
    contract.DOCS / "xbezahldienste.openapi.json",
    expected_statuses=(*contract.BUSINESS_REFUSALS, "400"),
)

FUNCTIONAL_CODES = frozenset(
    {
        "NO_VALID_ORIGINATOR_OR_ENDPOINT",
        "PAYMENT_EXISTS",
        "CALCULATION_ERROR",
        "BOOKING_DATA_MISSING",
        "VALIDATION_ERROR",
        "UNSPECIFIED",
        "FORBIDDEN",
    }
)
TOKEN_ERRORS = frozenset(
    {"invalid_request", "invalid_client", "unsupported_grant_type", "temporarily_unavailable"}
)


def functional_problems(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """4xx answers: the standard's problem details, or RFC 6749 errors at the token endpoint."""
    if response.status_code < 400:
        return None
    body = json.loads(response.content)
    assert isinstance(body, dict), body
    assert "Traceback" not in response.content.decode("utf-8", "replace")
    if case.path.endswith("/oauth/token") and "functionalCode" not in body:
        assert body.get("error") in TOKEN_ERRORS, body
        return True
    content_type = response.headers.get("content-type", [""])[0].split(";")[0].strip()
    assert content_type == contract.PROBLEM, f"error answered as {content_type!r}"
    assert body.get("status") == response.status_code, body
    assert body.get("functionalCode") in FUNCTIONAL_CODES, body
    assert isinstance(body.get("title"), str) and body["title"], body
    return True


@dataclass
class World:
    headers: dict[str, str]
    known: dict[str, list[Any]]


@pytest.fixture
def world(db: None, org: Organisation, client: Client) -> World:
    endpoint, _, default_line, _ = make_pair(org)
    factories.budget_line(org, code="611010.401300")
    factories.budget_line(org, code="122010.431100")
    request = payment_request()
    placed = client.post(
        f"{BASE}/paymenttransaction/{endpoint.originator_id}/{endpoint.endpoint_id}",
        data=json.dumps(request),
        content_type="application/json",
        HTTP_AUTHORIZATION=basic(),
    )
    assert placed.status_code == 200, placed.content
    transaction_id = placed.json()["paymentInformation"]["transactionId"]
    return World(
        headers={"Authorization": basic()},
        known={
            "originatorId": [endpoint.originator_id],
            "endPointId": [endpoint.endpoint_id],
            "transactionId": [transaction_id, request["requestId"]],
            "bookingData": [{"Haushaltsstelle": default_line.code}],
            "currency": ["EUR"],
        },
    )


@schema.parametrize()
def test_the_xbezahldienste_server_keeps_its_document(case: Case, world: World) -> None:
    with contract.in_test_transaction():
        contract.run(case, headers=world.headers, known=world.known, problems=functional_problems)
