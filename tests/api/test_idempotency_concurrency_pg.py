"""On PostgreSQL, the same Idempotency-Key sent many times at once makes one payment.

The reservation, the payment and the stored answer are one transaction; a duplicate that comes
while the first still runs is refused with 409 (advisory lock), one that comes after it replays
the first answer. Never two payments, never a 5xx.
"""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.db import connections
from django.test import Client
from tests import factories
from tests.api.test_v1 import make_key

from rathauskasse.api.models import IdempotentResponse
from rathauskasse.payments.models import Payment, PaymentAllocation

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]
THREADS = 12


def _post(token: str, body: dict[str, Any], key: str) -> tuple[int, dict[str, Any], bool]:
    response = Client().post(
        "/api/v1/payments",
        data=json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
        HTTP_IDEMPOTENCY_KEY=key,
    )
    return response.status_code, response.json(), "Idempotent-Replayed" in response


def _race(function: Any, n: int = THREADS) -> list[Any]:
    barrier = threading.Barrier(n)

    def run(i: int) -> Any:
        try:
            barrier.wait()
            return function(i)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(run, range(n)))


def test_one_key_sent_at_once_from_many_threads_makes_one_payment(db: None) -> None:
    org = factories.organisation()
    receivable = factories.receivable(
        org, factories.department(org), factories.budget_line(org), 2500
    )
    token = make_key(org)
    body = {
        "receivables": [{"receivable": receivable.pk}],
        "method": "card",
        "return_url": "https://x.example/",
    }
    results = _race(lambda _i: _post(token, body, "race-1"))
    statuses = sorted(status for status, _, _ in results)
    assert set(statuses) <= {201, 409}, results
    created = [answer for status, answer, _ in results if status == 201]
    assert len({answer["id"] for answer in created}) == 1
    assert sum(1 for status, _, replayed in results if status == 201 and not replayed) == 1
    for status, answer, _ in results:
        if status == 409:
            assert answer["code"] == "idempotency_conflict"
    assert Payment.objects.count() == 1
    assert PaymentAllocation.objects.get().amount_cents == 2500
    stored = IdempotentResponse.objects.get()
    assert stored.status == 201
    assert json.loads(bytes(stored.body))["id"] == created[0]["id"]
    # Afterwards the key replays the one answer.
    status, answer, replayed = _post(token, body, "race-1")
    assert (status, answer["id"], replayed) == (201, created[0]["id"], True)


def test_different_keys_for_one_receivable_at_once_never_overpay_it(db: None) -> None:
    org = factories.organisation()
    receivable = factories.receivable(
        org, factories.department(org), factories.budget_line(org), 1000
    )
    token = make_key(org)

    def pay(i: int) -> tuple[int, dict[str, Any], bool]:
        body = {
            "receivables": [{"receivable": receivable.pk, "amount_cents": 1000}],
            "method": "card",
            "return_url": "https://x.example/",
        }
        return _post(token, body, f"other-{i}")

    results = _race(pay)
    assert all(status == 201 for status, _, _ in results), results
    # Each payment is an attempt of the whole open amount, none more than it.
    assert set(PaymentAllocation.objects.values_list("amount_cents", flat=True)) == {1000}
    assert IdempotentResponse.objects.filter(status=201).count() == THREADS
