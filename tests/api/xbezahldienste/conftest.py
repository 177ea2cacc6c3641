"""Fixtures for XBezahldienste: a configured pair, and a client that speaks its protocol."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client
from tests import factories

from rathauskasse.api.models import XBezahldiensteEndpoint
from rathauskasse.api.xbezahldienste import services
from rathauskasse.organisations.models import BudgetLine, Department, Organisation

BASE = "/xbezahldienste/v1"
USER, PASSWORD = "portal", "s3cret-portal"


def basic(user: str = USER, password: str = PASSWORD) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def payment_request(**overrides: Any) -> dict[str, Any]:
    """A valid request: two items, 2 × 10,00 € + 19 % and 5,50 € tax-free, 29,30 € in all."""
    body: dict[str, Any] = {
        "requestId": "antrag-4711",
        "requestTimestamp": "2026-11-02T10:15:00+01:00",
        "currency": "EUR",
        "grosAmount": 29.30,
        "purpose": "Hundeanmeldung 4711",
        "description": "Anmeldung eines Hundes, Steuermarke",
        "redirectUrl": "https://dienst.example/zurueck?antrag=4711",
        "items": [
            {
                "id": "pos-1",
                "reference": "HST-MARKE",
                "description": "Steuermarke",
                "taxRate": 19,
                "quantity": 2,
                "singleNetAmount": 10.00,
                "singleTaxAmount": 1.90,
                "totalNetAmount": 20.00,
                "totalTaxAmount": 3.80,
                "bookingData": {"Haushaltsstelle": "611010.401300"},
            },
            {
                "id": "pos-2",
                "description": "Bearbeitung",
                "taxRate": 0,
                "quantity": 1,
                "singleNetAmount": 5.50,
                "singleTaxAmount": 0,
                "totalNetAmount": 5.50,
                "totalTaxAmount": 0,
                "bookingData": {"Haushaltsstelle": "122010.431100", "Personenkonto": "4711"},
            },
        ],
        "requestor": {
            "name": "Mustermann",
            "firstName": "Erika",
            "gender": "F",
            "isOrganization": False,
            "email": "erika@example.org",
            "address": {
                "street": "Heidestraße",
                "houseNumber": "17",
                "postalCode": "51147",
                "city": "Köln",
                "country": "DE",
            },
        },
    }
    body.update(overrides)
    return body


@dataclass
class Pair:
    endpoint: XBezahldiensteEndpoint
    org: Organisation
    department: Department
    default_line: BudgetLine
    client: Client
    auth: str

    @property
    def path(self) -> str:
        return f"{self.endpoint.originator_id}/{self.endpoint.endpoint_id}"

    def post(self, body: Any, *, auth: str | None = None, **extra: Any) -> Any:
        data = body if isinstance(body, bytes | str) else json.dumps(body)
        return self.client.post(
            f"{BASE}/paymenttransaction/{self.path}",
            data=data,
            content_type=extra.pop("content_type", "application/json"),
            HTTP_AUTHORIZATION=self.auth if auth is None else auth,
            **extra,
        )

    def get(self, key: str, *, auth: str | None = None, **extra: Any) -> Any:
        return self.client.get(
            f"{BASE}/paymenttransaction/{self.path}/{key}",
            HTTP_AUTHORIZATION=self.auth if auth is None else auth,
            **extra,
        )


def make_pair(
    org: Organisation,
    *,
    originator: str = "dienst",
    endpoint: str = "hunde",
    user: str = USER,
    password: str = PASSWORD,
    **kw: Any,
) -> tuple[XBezahldiensteEndpoint, Department, BudgetLine, str | None]:
    department = factories.department(org, name=f"Amt {originator}-{endpoint}")
    default_line = factories.budget_line(org, code=f"611010.401300-{originator}-{endpoint}")
    settings_kw: dict[str, Any] = {
        "booking_data_mapping": {
            "Haushaltsstelle": "budget_line",
            "Personenkonto": "debtor_account",
        },
        "required_booking_keys": ["Haushaltsstelle"],
    }
    settings_kw.update(kw)
    created, secret = services.create_endpoint(
        actor=factories.ACTOR,
        organisation=org,
        name="Hundeanmeldung",
        originator_id=originator,
        endpoint_id=endpoint,
        department=department,
        default_budget_line=default_line,
        provider="sandbox",
        basic_username=user,
        basic_password=password,
        **settings_kw,
    )
    return created, department, default_line, secret


@pytest.fixture
def pair(org: Organisation, client: Client) -> Pair:
    endpoint, department, default_line, _ = make_pair(org)
    factories.budget_line(org, code="611010.401300")
    factories.budget_line(org, code="122010.431100")
    return Pair(endpoint, org, department, default_line, client, basic())


@pytest.fixture
def post_twice() -> Callable[..., Any]:
    return lambda pair, body: (pair.post(body), pair.post(body))
