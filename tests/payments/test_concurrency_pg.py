"""On PostgreSQL, racing confirmations and racing Kassenzeichen book exactly once."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.db import connections

from rathauskasse.core import audit
from rathauskasse.core.models import AuditEntry
from rathauskasse.ledger import selectors as ledger_selectors
from rathauskasse.ledger.models import JournalEntry
from rathauskasse.payments import services
from rathauskasse.payments.models import Payment, PaymentEvent, PaymentStatus
from rathauskasse.providers.sandbox import server
from rathauskasse.receivables.models import Receivable
from tests import factories

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]
THREADS = 20


def _race(function: Callable[[int], Any], n: int = THREADS) -> list[Any]:
    """Run `function(i)` in n threads released at the same moment, each on its own connection."""
    barrier = threading.Barrier(n)

    def run(i: int) -> Any:
        try:
            barrier.wait()
            return function(i)
        except Exception as exc:
            return exc
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(run, range(n)))


@pytest.fixture
def payment(db: None) -> Payment:
    org = factories.organisation()
    department = factories.department(org)
    line = factories.budget_line(org)
    payment = factories.payment(org, factories.receivable(org, department, line, 3070))
    services.start_payment(payment=payment, actor=factories.ACTOR)
    return Payment.objects.get(pk=payment.pk)


def test_twenty_threads_confirming_one_payment_book_it_once(payment: Payment) -> None:
    results = _race(
        lambda i: services.confirm_payment(
            payment=payment,
            source=services.EventSource.NOTIFICATION,
            actor=audit.Actor(label=f"thread-{i}"),
        )
    )
    assert all(isinstance(r, Payment) and r.status == PaymentStatus.SUCCEEDED for r in results), (
        results
    )
    assert JournalEntry.objects.filter(kind="payment_succeeded").count() == 1
    assert (
        PaymentEvent.objects.filter(payment=payment, to_status=PaymentStatus.SUCCEEDED).count() == 1
    )
    assert AuditEntry.objects.filter(action="payment.succeeded").count() == 1
    assert ledger_selectors.check_integrity().ok


def test_notifications_racing_status_polls_book_once(payment: Payment) -> None:
    server.decide(
        reference=payment.provider_reference, outcome=server.Outcome.SUCCEED, payer_method="card"
    )
    notification = server.SandboxNotification.objects.get()  # type: ignore[attr-defined]
    body = server.notification_body(notification)

    def act(i: int) -> Any:
        fresh = Payment.objects.get(pk=payment.pk)
        if i % 2:
            return services.sync_payment(payment=fresh)
        from rathauskasse.core import clock

        signature = server.sign(body, timestamp=int(clock.now().timestamp()), secret="test-secret")
        return services.handle_notification(
            provider="sandbox", headers={"Sandbox-Signature": signature}, body=body
        )

    results = _race(act)
    assert all(isinstance(r, Payment) for r in results), results
    assert JournalEntry.objects.filter(kind="payment_succeeded").count() == 1
    assert (
        PaymentEvent.objects.filter(payment=payment, to_status=PaymentStatus.SUCCEEDED).count() == 1
    )


def test_concurrent_receivables_get_gap_free_unique_kassenzeichen(db: None) -> None:
    org = factories.organisation()
    department = factories.department(org)
    line = factories.budget_line(org)
    results = _race(lambda i: factories.receivable(org, department, line, 100 + i))
    assert all(isinstance(r, Receivable) for r in results), results
    numbers = sorted(int(r.kassenzeichen[2:-1]) for r in results)
    assert numbers == list(range(1, THREADS + 1))


def test_success_and_failure_racing_end_in_one_state(payment: Payment) -> None:
    def act(i: int) -> Any:
        move = services.confirm_payment if i % 2 else services.fail_payment
        return move(
            payment=payment, source=services.EventSource.NOTIFICATION, actor=factories.ACTOR
        )

    results = _race(act)
    final = Payment.objects.get(pk=payment.pk).status
    assert final in (PaymentStatus.SUCCEEDED, PaymentStatus.FAILED)
    winners = [r for r in results if isinstance(r, Payment)]
    losers = [r for r in results if isinstance(r, services.TransitionNotAllowed)]
    assert len(winners) + len(losers) == THREADS
    assert all(w.status == final for w in winners)
    assert JournalEntry.objects.filter(kind="payment_succeeded").count() == (
        1 if final == "succeeded" else 0
    )


def test_cancelling_a_receivable_while_its_payment_succeeds_stays_consistent(
    payment: Payment,
) -> None:
    from rathauskasse.receivables import selectors as receivable_selectors
    from rathauskasse.receivables.services import ReceivableNotCancellable, cancel_receivable

    receivable = payment.receivables.get()

    def act(i: int) -> Any:
        if i % 2:
            return cancel_receivable(
                actor=factories.ACTOR, receivable=receivable, reason="aufgehoben"
            )
        return services.confirm_payment(
            payment=payment, source=services.EventSource.NOTIFICATION, actor=factories.ACTOR
        )

    results = _race(act, n=10)
    receivable.refresh_from_db()
    open_cents = receivable_selectors.open_amount(receivable=receivable)
    # The money came in either way and is booked once; it never disappears.
    assert Payment.objects.get(pk=payment.pk).status == PaymentStatus.SUCCEEDED
    assert JournalEntry.objects.filter(kind="payment_succeeded").count() == 1
    if receivable.status == "cancelled":
        assert open_cents == -3070  # a credit for the cash office to pay back
        assert JournalEntry.objects.filter(kind="reversal").count() == 1
    else:
        assert receivable.status == "paid"
        assert open_cents == 0
        assert all(
            not isinstance(r, Exception) or isinstance(r, ReceivableNotCancellable) for r in results
        )
        assert not JournalEntry.objects.filter(kind="reversal").exists()
    assert ledger_selectors.check_integrity().ok


def test_partial_payments_confirmed_at_once_leave_the_receivable_paid(db: None) -> None:
    """Each confirmation reads the balance only after the other's posting is committed."""
    org = factories.organisation()
    receivable = factories.receivable(
        org, factories.department(org), factories.budget_line(org), 1000
    )
    parts = [
        services.create_payment(
            actor=factories.ACTOR,
            organisation=org,
            allocations=[services.AllocationInput(receivable, 100)],
            provider="sandbox",
            method="card",
        )
        for _ in range(10)
    ]
    results = _race(
        lambda i: services.confirm_payment(
            payment=parts[i], source=services.EventSource.POLL, actor=factories.ACTOR
        ),
        n=10,
    )
    assert not [r for r in results if isinstance(r, Exception)]
    receivable.refresh_from_db()
    assert receivable.status == "paid"
    assert receivable.paid_at is not None
