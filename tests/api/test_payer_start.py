"""The payer's start link (`next_url`): the payment reaches its provider when the payer arrives."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from tests import factories
from tests.api.test_v1 import call, make_key

from rathauskasse.organisations.models import BudgetLine, Department, Organisation
from rathauskasse.payments import services
from rathauskasse.payments.contract import ProviderUnavailable
from rathauskasse.payments.models import EventSource, Payment, PaymentEvent, PaymentStatus
from rathauskasse.providers.sandbox.adapter import SandboxProvider
from rathauskasse.providers.sandbox.models import SandboxTransaction

pytestmark = pytest.mark.django_db


def _create(client: Client, org: Organisation, receivable_id: int) -> dict[str, Any]:
    body = {
        "receivables": [{"receivable": receivable_id}],
        "method": "card",
        "return_url": "https://hundesteuer.example/fertig",
    }
    response = call(client, "post", "/api/v1/payments", make_key(org), body)
    assert response.status_code == 201, response.content
    answer: dict[str, Any] = response.json()
    return answer


def test_the_link_starts_the_payment_once_however_often_it_is_opened(
    client: Client, org: Organisation, department: Department, budget_line: BudgetLine
) -> None:
    receivable = factories.receivable(org, department, budget_line, 4200)
    created = _create(client, org, receivable.pk)
    assert SandboxTransaction.objects.count() == 0  # the API request did not call the provider
    first = client.get(created["next_url"])
    again = client.get(created["next_url"])
    assert first.status_code == again.status_code == 302
    assert first["Location"] == again["Location"]
    assert first["Location"].startswith("http://testserver/sandbox/bezahlen/")
    assert SandboxTransaction.objects.get().amount_cents == 4200
    payment = Payment.objects.get()
    assert payment.status == PaymentStatus.STARTED
    assert list(
        PaymentEvent.objects.filter(payment=payment)
        .order_by("id")
        .values_list("to_status", flat=True)
    ) == ["created", "started"]


def test_a_finished_payment_sends_the_payer_back_to_the_integrator(
    client: Client, org: Organisation, department: Department, budget_line: BudgetLine
) -> None:
    receivable = factories.receivable(org, department, budget_line, 1000)
    created = _create(client, org, receivable.pk)
    payment = Payment.objects.get()
    services.cancel_payment(payment=payment, source=EventSource.CLIENT, actor=factories.ACTOR)
    response = client.get(created["next_url"])
    assert response.status_code == 302
    assert response["Location"] == "https://hundesteuer.example/fertig"
    assert SandboxTransaction.objects.count() == 0


def test_an_unreachable_provider_leaves_the_payment_to_be_started_later(
    client: Client,
    org: Organisation,
    department: Department,
    budget_line: BudgetLine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    receivable = factories.receivable(org, department, budget_line, 1000)
    created = _create(client, org, receivable.pk)

    def down(*_: Any, **__: Any) -> Any:
        raise ProviderUnavailable("timeout")

    monkeypatch.setattr(SandboxProvider, "start", down)
    response = client.get(created["next_url"])
    assert response.status_code == 302
    assert response["Location"] == "https://hundesteuer.example/fertig"
    assert Payment.objects.get().status == PaymentStatus.CREATED
    monkeypatch.undo()
    retried = client.get(created["next_url"])
    assert retried["Location"].startswith("http://testserver/sandbox/bezahlen/")
    assert Payment.objects.get().status == PaymentStatus.STARTED


def test_an_unknown_link_is_404_and_a_head_request_starts_nothing(
    client: Client, org: Organisation, department: Department, budget_line: BudgetLine
) -> None:
    assert client.get("/zahlen/00000000-0000-4000-8000-000000000000/").status_code == 404
    receivable = factories.receivable(org, department, budget_line, 1000)
    created = _create(client, org, receivable.pk)
    assert client.head(created["next_url"]).status_code == 405
    assert Payment.objects.get().status == PaymentStatus.CREATED
