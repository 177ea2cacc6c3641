"""Lists page through every row exactly once; department-limited keys see only their departments."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from django.test import Client
from tests import factories
from tests.api.test_v1 import call, make_key

from rathauskasse.organisations.models import BudgetLine, Department, Organisation
from rathauskasse.payments import services as payments

pytestmark = pytest.mark.django_db


def _walk(client: Client, token: str, path: str, on_page: Any) -> list[Any]:
    seen: list[Any] = []
    cursor = None
    for _ in range(50):
        page = call(
            client, "get", f"{path}?limit=3" + (f"&after={cursor}" if cursor else ""), token
        )
        assert page.status_code == 200, page.content
        data = page.json()
        seen += [row["id"] for row in data["data"]]
        on_page()
        cursor = data["next_cursor"]
        if cursor is None:
            return seen
    raise AssertionError("pagination did not end")


def test_receivables_page_through_every_row_once_while_rows_are_added(
    client: Client, org: Organisation, department: Department, budget_line: BudgetLine
) -> None:
    token = make_key(org)
    existing = [factories.receivable(org, department, budget_line, 100 + i).pk for i in range(10)]
    added: list[int] = []

    def add_one() -> None:
        added.append(factories.receivable(org, department, budget_line, 999).pk)

    seen = _walk(client, token, "/api/v1/receivables", add_one)
    assert Counter(seen) == Counter(existing), "every row that was there, exactly once"
    assert seen == sorted(existing, reverse=True)
    assert not set(seen) & set(added)
    assert len(added) == 4


def test_payments_page_through_every_row_once_while_rows_are_added(
    client: Client, org: Organisation, department: Department, budget_line: BudgetLine
) -> None:
    token = make_key(org)
    receivable = factories.receivable(org, department, budget_line, 100_000)
    existing = []
    for _ in range(8):
        payment = factories.payment(org, receivable)
        existing.append(str(payment.public_id))
        payments.cancel_payment(
            payment=payment, source=payments.EventSource.CLIENT, actor=factories.ACTOR
        )
    added: list[str] = []

    def add_one() -> None:
        payment = factories.payment(org, receivable)
        added.append(str(payment.public_id))
        payments.cancel_payment(
            payment=payment, source=payments.EventSource.CLIENT, actor=factories.ACTOR
        )

    seen = _walk(client, token, "/api/v1/payments", add_one)
    assert Counter(seen) == Counter(existing)
    assert seen == list(reversed(existing))
    assert not set(seen) & set(added)


def test_a_department_limited_key_sees_and_touches_only_its_departments(
    client: Client, org: Organisation, department: Department, budget_line: BudgetLine
) -> None:
    mine = factories.department(org, name="Ordnungsamt")
    own = factories.receivable(org, mine, budget_line, 1000)
    foreign = factories.receivable(org, department, budget_line, 2000)
    own_payment = factories.payment(org, own)
    foreign_payment = factories.payment(org, foreign)
    payments.confirm_payment(
        payment=foreign_payment, source=payments.EventSource.POLL, actor=factories.ACTOR
    )
    foreign_refund = payments.refund_payment(
        actor=factories.ACTOR, payment=foreign_payment, amount_cents=500, reason="Kulanz"
    )
    limited = make_key(org, departments=[mine])

    listed = call(client, "get", "/api/v1/receivables", limited).json()
    assert [r["id"] for r in listed["data"]] == [own.pk]
    by_department = call(client, "get", f"/api/v1/receivables?department={department.pk}", limited)
    assert by_department.json()["data"] == []
    assert call(client, "get", f"/api/v1/receivables/{foreign.pk}", limited).status_code == 404
    kassenzeichen = f"/api/v1/receivables/by-kassenzeichen/{foreign.kassenzeichen}"
    assert call(client, "get", kassenzeichen, limited).status_code == 404

    listed = call(client, "get", "/api/v1/payments", limited).json()
    assert [p["id"] for p in listed["data"]] == [str(own_payment.public_id)]
    for path in (
        f"/api/v1/payments/{foreign_payment.public_id}",
        f"/api/v1/payments/{foreign_payment.public_id}/events",
        f"/api/v1/refunds/{foreign_refund.public_id}",
    ):
        assert call(client, "get", path, limited).status_code == 404, path
    departments = call(client, "get", "/api/v1/departments", limited).json()
    assert [d["id"] for d in departments] == [mine.pk]
    assert call(client, "get", "/api/v1/events", limited).status_code == 403

    body = {
        "receivables": [{"receivable": foreign.pk}],
        "method": "card",
        "return_url": "https://x.example/",
    }
    refused = call(client, "post", "/api/v1/payments", limited, body)
    assert refused.status_code == 422
    assert str(foreign.pk) in refused.json()["title"]
    cancel = call(client, "post", f"/api/v1/payments/{foreign_payment.public_id}/cancel", limited)
    assert cancel.status_code == 404
    refund = call(
        client,
        "post",
        "/api/v1/refunds",
        limited,
        {"payment": str(foreign_payment.public_id), "reason": "Versuch"},
    )
    assert refund.status_code == 404
    cancel = call(
        client, "post", f"/api/v1/receivables/{foreign.pk}/cancel", limited, {"reason": "Versuch"}
    )
    assert cancel.status_code == 404
    foreign.refresh_from_db()
    assert foreign.status == "paid"
    assert foreign_payment.refunds.count() == 1
