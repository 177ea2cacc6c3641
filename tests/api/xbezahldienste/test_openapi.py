"""The committed OpenAPI document is the one the code serves."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.test import Client

from rathauskasse.api.management.commands import export_xbezahldienste_openapi as export

pytestmark = pytest.mark.django_db


def test_the_committed_openapi_document_matches_the_code(client: Client) -> None:
    committed_text = (Path(__file__).resolve().parents[3] / export.TARGET).read_text()
    hint = "run `manage.py export_xbezahldienste_openapi` and commit the document"
    assert committed_text == export.text(), hint
    served = client.get("/xbezahldienste/v1/openapi.json").json()
    assert served == json.loads(committed_text), hint


def test_the_document_describes_problems_and_their_codes() -> None:
    document = json.loads(export.text())
    problem = document["components"]["schemas"]["Problem"]
    assert set(problem["properties"]["functionalCode"]["enum"]) == {
        "NO_VALID_ORIGINATOR_OR_ENDPOINT",
        "PAYMENT_EXISTS",
        "CALCULATION_ERROR",
        "BOOKING_DATA_MISSING",
        "VALIDATION_ERROR",
        "UNSPECIFIED",
        "FORBIDDEN",
    }
    post = document["paths"]["/xbezahldienste/v1/paymenttransaction/{originatorId}/{endPointId}"]
    responses = post["post"]["responses"]
    assert set(responses) == {"200", "400", "403", "404", "409", "413", "415", "429", "503"}
    assert "application/problem+json" in responses["409"]["content"]
    assert set(document["components"]["securitySchemes"]) == {"BasicAuth", "BearerAuth"}
