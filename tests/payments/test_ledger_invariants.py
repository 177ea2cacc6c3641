"""Hypothesis: whatever happens, the books balance and every open amount is explained."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rathauskasse.ledger import selectors as ledger_selectors
from rathauskasse.organisations.models import BudgetLine, Department, Organisation
from rathauskasse.payments import registry, services
from rathauskasse.payments.models import Payment, PaymentStatus
from rathauskasse.receivables import selectors as receivable_selectors
from rathauskasse.receivables.models import Receivable, ReceivableStatus
from rathauskasse.receivables.services import cancel_receivable
from tests import factories
from tests.support import InstantProvider

pytestmark = pytest.mark.django_db
ACTOR = factories.ACTOR


class _Rollback(Exception):
    pass


@dataclass
class Books:
    due: dict[int, int] = field(default_factory=dict)
    paid: dict[int, int] = field(default_factory=dict)
    refunded: dict[int, int] = field(default_factory=dict)


operations = st.lists(
    st.one_of(
        st.tuples(st.just("create"), st.lists(st.integers(1, 500_000), min_size=1, max_size=4)),
        st.tuples(st.just("pay"), st.integers(0, 50), st.integers(1, 100)),
        st.tuples(st.just("basket"), st.integers(0, 50), st.integers(0, 50)),
        st.tuples(st.just("fail"), st.integers(0, 50)),
        st.tuples(st.just("refund"), st.integers(0, 50), st.integers(1, 100)),
        st.tuples(st.just("cancel"), st.integers(0, 50)),
    ),
    min_size=1,
    max_size=25,
)


def _apply(
    op: tuple,
    org: Organisation,
    dept: Department,
    line: BudgetLine,
    books: Books,  # type: ignore[type-arg]
    receivables: list[Receivable],
    payments: list[Payment],
) -> None:
    kind = op[0]
    if kind == "create":
        r = factories.receivable(org, dept, line, *op[1])
        receivables.append(r)
        books.due[r.pk] = sum(op[1])
        return
    if not receivables:
        return
    if kind in ("pay", "fail"):
        r = receivables[op[1] % len(receivables)]
        open_cents = receivable_selectors.open_amount(receivable=r)
        if r.status != ReceivableStatus.OPEN or open_cents <= 0:
            return
        amount = max(1, open_cents * (op[2] if kind == "pay" else 100) // 100)
        p = services.create_payment(
            actor=ACTOR,
            organisation=org,
            allocations=[services.AllocationInput(r, amount)],
            provider="sandbox",
            method="card",
        )
        services.start_payment(payment=p, actor=ACTOR)
        if kind == "fail":
            services.fail_payment(payment=p, source=services.EventSource.SYSTEM, actor=ACTOR)
            return
        services.confirm_payment(payment=p, source=services.EventSource.SYSTEM, actor=ACTOR)
        books.paid[r.pk] = books.paid.get(r.pk, 0) + amount
        payments.append(p)
    elif kind == "basket":
        chosen = {receivables[op[1] % len(receivables)], receivables[op[2] % len(receivables)]}
        payable = [
            r for r in chosen if Receivable.objects.get(pk=r.pk).status == ReceivableStatus.OPEN
        ]
        if not payable:
            return
        p = factories.payment(org, *payable)
        services.start_payment(payment=p, actor=ACTOR)
        services.confirm_payment(payment=p, source=services.EventSource.SYSTEM, actor=ACTOR)
        for rid, cents in p.allocations.values_list("receivable_id", "amount_cents"):
            books.paid[rid] = books.paid.get(rid, 0) + cents
        payments.append(p)
    elif kind == "refund":
        if not payments:
            return
        p = Payment.objects.get(pk=payments[op[1] % len(payments)].pk)
        left = services.refundable_cents(p)
        if left <= 0:
            return
        refund = services.refund_payment(
            actor=ACTOR, payment=p, amount_cents=max(1, left * op[2] // 100), reason="Test"
        )
        for rid, cents in refund.allocations.values_list("receivable_id", "amount_cents"):
            books.refunded[rid] = books.refunded.get(rid, 0) + cents
    elif kind == "cancel":
        r = receivables[op[1] % len(receivables)]
        if receivable_selectors.open_amount(receivable=r) == books.due[r.pk] and not books.paid.get(
            r.pk
        ):
            cancel_receivable(actor=ACTOR, receivable=r, reason="Test")
            books.due[r.pk] = 0


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops=operations)
def test_any_sequence_keeps_the_books_right(
    ops: list[tuple],
    org: Organisation,
    department: Department,
    budget_line: BudgetLine,  # type: ignore[type-arg]
) -> None:
    try:
        with transaction.atomic(), registry.override("sandbox", InstantProvider()):  # type: ignore[arg-type]
            books = Books()
            receivables: list[Receivable] = []
            payments: list[Payment] = []
            for op in ops:
                _apply(op, org, department, budget_line, books, receivables, payments)

            report = ledger_selectors.check_integrity(organisation_id=org.pk)
            assert report.ok, report.problems
            assert report.trial_balance_cents.get(org.pk, 0) == 0
            for r in receivables:
                expected = books.due[r.pk] - books.paid.get(r.pk, 0) + books.refunded.get(r.pk, 0)
                assert receivable_selectors.open_amount(receivable=r) == expected
                status = Receivable.objects.get(pk=r.pk).status
                if books.due[r.pk] == 0:
                    assert status == ReceivableStatus.CANCELLED
                else:
                    assert status == (
                        ReceivableStatus.OPEN if expected > 0 else ReceivableStatus.PAID
                    )
            for p in payments:
                assert Payment.objects.get(pk=p.pk).status == PaymentStatus.SUCCEEDED
            raise _Rollback
    except _Rollback:
        pass
