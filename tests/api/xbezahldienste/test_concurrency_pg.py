"""On PostgreSQL, the same requestId placed by racing requests makes one transaction."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.db import connections
from django.test import Client
from tests import factories
from tests.api.xbezahldienste.conftest import BASE, basic, make_pair, payment_request

from rathauskasse.api.models import XBezahldiensteTransaction
from rathauskasse.ledger import selectors as ledger_selectors
from rathauskasse.payments.models import Payment
from rathauskasse.receivables.models import Receivable, ReceivableStatus

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]
THREADS = 8


def test_racing_duplicates_give_one_transaction_and_payment_exists_for_the_rest() -> None:
    org = factories.organisation()
    make_pair(org)
    factories.budget_line(org, code="611010.401300")
    factories.budget_line(org, code="122010.431100")
    body = json.dumps(payment_request())
    barrier = threading.Barrier(THREADS)

    def place(_: int) -> tuple[int, dict[str, Any]]:
        try:
            barrier.wait()
            response = Client().post(
                f"{BASE}/paymenttransaction/dienst/hunde",
                data=body,
                content_type="application/json",
                HTTP_AUTHORIZATION=basic(),
            )
            return response.status_code, response.json()
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        results = list(pool.map(place, range(THREADS)))

    statuses = sorted(status for status, _ in results)
    assert statuses == [200] + [409] * (THREADS - 1), results
    created = XBezahldiensteTransaction.objects.get()
    for status, answer in results:
        if status == 409:
            assert answer["functionalCode"] == "PAYMENT_EXISTS"
            assert answer["transactionId"] == created.transaction_id
    assert Payment.objects.count() == 1
    # The losers' receivables were rolled back with their transactions, not left open.
    assert Receivable.objects.filter(status=ReceivableStatus.OPEN).count() == 1
    assert Receivable.objects.count() == 1
    assert ledger_selectors.check_integrity().ok
