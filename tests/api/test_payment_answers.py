"""The answer to creating a payment is what reading it back shows, whatever was asked for."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from tests import factories
from tests.api.test_v1 import call, make_key

from rathauskasse.organisations.models import BudgetLine, Department, Organisation

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "amounts",
    [[None], [700], [None, None, None], [500, 250, 1], [None, 300, None]],
    ids=["one, all", "one, part", "three, all", "three, parts", "three, mixed"],
)
def test_the_created_payment_reads_back_the_same(
    client: Client,
    org: Organisation,
    department: Department,
    budget_line: BudgetLine,
    amounts: list[int | None],
) -> None:
    token = make_key(org)
    # Created in an order that is not their Kassenzeichen order.
    receivables = [
        factories.receivable(org, department, budget_line, 1000 + 100 * i) for i in range(3)
    ][: len(amounts)][::-1]
    body: dict[str, Any] = {
        "receivables": [
            {"receivable": r.pk} | ({} if amount is None else {"amount_cents": amount})
            for r, amount in zip(receivables, amounts, strict=True)
        ],
        "method": "card",
        "return_url": "https://x.example/",
    }
    created = call(client, "post", "/api/v1/payments", token, body)
    assert created.status_code == 201, created.content
    read = call(client, "get", f"/api/v1/payments/{created.json()['id']}", token)
    assert created.json() == read.json()
    expected = sum(
        r.amount_cents if amount is None else amount
        for r, amount in zip(receivables, amounts, strict=True)
    )
    assert created.json()["amount_cents"] == expected
    kassenzeichen = [a["kassenzeichen"] for a in created.json()["allocations"]]
    assert kassenzeichen == sorted(kassenzeichen)


def test_a_method_the_receivables_service_does_not_offer_is_refused(
    client: Client, org: Organisation, department: Department, budget_line: BudgetLine
) -> None:
    service = factories.service(org, department, budget_line, payment_methods=["paypal"])
    receivable = factories.receivable(org, department, budget_line, 1000, service=service)
    token = make_key(org)
    body: dict[str, Any] = {
        "receivables": [{"receivable": receivable.pk}],
        "method": "card",
        "return_url": "https://x.example/",
    }
    refused = call(client, "post", "/api/v1/payments", token, body)
    assert refused.status_code == 422, refused.content
    assert refused.json()["code"] == "payment_refused"
    assert service.name in refused.json()["title"]
    allowed = call(client, "post", "/api/v1/payments", token, {**body, "method": "paypal"})
    assert allowed.status_code == 201, allowed.content
