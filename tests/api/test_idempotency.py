"""Idempotency-Key: answers are kept for 24 hours, a running first request blocks a duplicate."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from tests import factories
from tests.api.test_v1 import call, make_key

from rathauskasse.api.models import IdempotentResponse
from rathauskasse.core import clock
from rathauskasse.organisations.models import BudgetLine, Department, Organisation
from rathauskasse.payments.models import Payment

pytestmark = pytest.mark.django_db
KEY = {"Idempotency-Key": "order-4711"}


def _body(receivable_id: int) -> dict[str, Any]:
    return {
        "receivables": [{"receivable": receivable_id}],
        "method": "card",
        "return_url": "https://x.example/",
    }


def test_an_answer_older_than_24_hours_gives_way_to_a_new_request(
    client: Client, org: Organisation, department: Department, budget_line: BudgetLine
) -> None:
    token = make_key(org)
    first = factories.receivable(org, department, budget_line, 1000)
    second = factories.receivable(org, department, budget_line, 2000)
    start = dt.datetime(2026, 11, 25, 9, 0, tzinfo=dt.UTC)
    with clock.frozen(start):
        one = call(client, "post", "/api/v1/payments", token, _body(first.pk), **KEY)
    with clock.frozen(start + dt.timedelta(hours=23, minutes=59)):
        other = call(client, "post", "/api/v1/payments", token, _body(second.pk), **KEY)
    with clock.frozen(start + dt.timedelta(hours=24, minutes=1)):
        later = call(client, "post", "/api/v1/payments", token, _body(second.pk), **KEY)
    assert one.status_code == 201
    assert other.status_code == 409
    assert other.json()["code"] == "idempotency_conflict"
    assert later.status_code == 201
    assert "Idempotent-Replayed" not in later
    assert later.json()["id"] != one.json()["id"]
    assert Payment.objects.count() == 2
    assert IdempotentResponse.objects.get().status == 201


def test_a_duplicate_while_the_first_still_runs_is_409_and_does_no_work(
    client: Client, org: Organisation, department: Department, budget_line: BudgetLine
) -> None:
    token = make_key(org)
    receivable = factories.receivable(org, department, budget_line, 1000)
    call(client, "post", "/api/v1/payments", token, _body(receivable.pk), **KEY)
    IdempotentResponse.objects.update(status=0, body=b"")  # as if the first were still running
    Payment.objects.update(status="cancelled")
    again = call(client, "post", "/api/v1/payments", token, _body(receivable.pk), **KEY)
    assert again.status_code == 409
    assert again.json()["field"] == "Idempotency-Key"
    assert Payment.objects.count() == 1


def test_a_request_that_crashed_frees_its_key(
    client: Client,
    org: Organisation,
    department: Department,
    budget_line: BudgetLine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from rathauskasse.api.v1 import payments as payments_api

    token = make_key(org)
    receivable = factories.receivable(org, department, budget_line, 1000)

    def broken(*_: Any) -> dict[str, Any]:
        raise RuntimeError("answer bug")

    # A crash after the payment was written: the key, the payment and its rows go together.
    monkeypatch.setattr(payments_api, "serialize", broken)
    crashed = call(client, "post", "/api/v1/payments", token, _body(receivable.pk), **KEY)
    assert crashed.status_code == 500
    assert crashed.json()["code"] == "internal_error"
    assert "answer bug" not in crashed.content.decode()
    assert IdempotentResponse.objects.count() == 0
    assert Payment.objects.count() == 0
    monkeypatch.undo()
    retried = call(client, "post", "/api/v1/payments", token, _body(receivable.pk), **KEY)
    assert retried.status_code == 201
