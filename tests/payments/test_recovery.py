"""A failing provider call leaves the payment where a status poll recovers it; expiry is safe."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from rathauskasse.core import clock
from rathauskasse.ledger.models import JournalEntry
from rathauskasse.organisations.models import BudgetLine, Department, Organisation
from rathauskasse.payments import registry, services
from rathauskasse.payments.contract import ProviderUnavailable
from rathauskasse.payments.models import Payment, PaymentEvent, PaymentStatus
from rathauskasse.providers.sandbox import server
from rathauskasse.providers.sandbox.adapter import build_provider
from rathauskasse.providers.sandbox.server import Outcome
from tests import factories
from tests.conftest import _flush_on_commit

pytestmark = pytest.mark.django_db
ACTOR = factories.ACTOR


class Flaky:
    """The sandbox adapter with injected faults: an operation times out before or after it
    reached the provider (in the second case the provider did the work, the answer was lost)."""

    def __init__(self) -> None:
        self.inner = build_provider()
        self.identifier = self.inner.identifier
        self.name = self.inner.name
        self.capabilities = self.inner.capabilities
        self.failing: dict[str, str] = {}  # operation -> "before" | "after"

    def _call(self, operation: str, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        when = self.failing.get(operation)
        if when == "before":
            raise ProviderUnavailable(f"{operation}: HTTP 500")
        result = function(*args, **kwargs)
        if when == "after":
            raise ProviderUnavailable(f"{operation}: read timeout")
        return result

    def start(self, request: Any) -> Any:
        return self._call("start", self.inner.start, request)

    def parse_notification(self, notification: Any) -> Any:
        return self.inner.parse_notification(notification)

    def poll(self, **kwargs: Any) -> Any:
        return self._call("poll", self.inner.poll, **kwargs)

    def cancel(self, **kwargs: Any) -> Any:
        return self._call("cancel", self.inner.cancel, **kwargs)

    def refund(self, request: Any) -> Any:
        return self._call("refund", self.inner.refund, request)


@pytest.fixture
def flaky() -> Iterator[Flaky]:
    provider = Flaky()
    with registry.override("sandbox", provider):  # type: ignore[arg-type]
        yield provider


@pytest.fixture
def payment(org: Organisation, department: Department, budget_line: BudgetLine) -> Payment:
    return factories.payment(org, factories.receivable(org, department, budget_line, 3070))


def test_provider_down_at_start_leaves_a_created_payment_that_can_start_again(
    flaky: Flaky, payment: Payment
) -> None:
    flaky.failing["start"] = "before"
    with pytest.raises(services.ProviderFailed, match="nicht erreichbar"):
        services.start_payment(payment=payment, actor=ACTOR)
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.CREATED
    assert PaymentEvent.objects.filter(payment=payment, kind="provider_error").exists()

    del flaky.failing["start"]
    url = services.start_payment(payment=payment, actor=ACTOR)
    assert "/sandbox/bezahlen/" in url
    assert Payment.objects.get(pk=payment.pk).status == PaymentStatus.STARTED


def test_answer_lost_after_the_provider_took_the_payment_is_recovered_by_a_poll(
    flaky: Flaky, payment: Payment
) -> None:
    flaky.failing["start"] = "after"
    with pytest.raises(services.ProviderFailed):
        services.start_payment(payment=payment, actor=ACTOR)
    # The payer still got to the provider by another way and paid; the notification is lost.
    txn = server.find(payment_reference=str(payment.public_id))
    assert txn is not None
    server.decide(reference=txn.reference, outcome=Outcome.SUCCEED, payer_method="card")

    recovered = services.sync_payment(payment=Payment.objects.get(pk=payment.pk))
    assert recovered.status == PaymentStatus.SUCCEEDED
    assert recovered.provider_reference == txn.reference
    assert JournalEntry.objects.filter(kind="payment_succeeded").count() == 1


def test_poll_while_the_provider_is_down_changes_nothing(flaky: Flaky, payment: Payment) -> None:
    services.start_payment(payment=payment, actor=ACTOR)
    flaky.failing["poll"] = "before"
    with pytest.raises(services.ProviderFailed):
        services.sync_payment(payment=Payment.objects.get(pk=payment.pk))
    assert Payment.objects.get(pk=payment.pk).status == PaymentStatus.STARTED


def test_notification_and_poll_together_book_once(payment: Payment) -> None:
    services.start_payment(payment=payment, actor=ACTOR)
    payment.refresh_from_db()
    server.decide(
        reference=payment.provider_reference, outcome=Outcome.SUCCEED, payer_method="card"
    )
    report = build_provider().poll(payment_reference=str(payment.public_id))
    assert report is not None
    services.apply_report(payment=payment, report=report, source=services.EventSource.NOTIFICATION)
    services.sync_payment(payment=payment)
    services.apply_report(payment=payment, report=report, source=services.EventSource.NOTIFICATION)
    assert JournalEntry.objects.filter(kind="payment_succeeded").count() == 1
    assert PaymentEvent.objects.filter(payment=payment, to_status="succeeded").count() == 1


def test_expiry_cancels_at_the_provider_first(
    payment: Payment, run_tasks: Callable[[], list[str]]
) -> None:
    services.start_payment(payment=payment, actor=ACTOR)
    with clock.frozen(payment.expires_at + dt.timedelta(seconds=1)):
        assert "check_payment" in run_tasks()
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.EXPIRED
    assert server.find(reference=payment.provider_reference).state in ("cancelled", "expired")  # type: ignore[union-attr]


def test_expiry_check_finds_a_success_whose_notification_was_lost(
    payment: Payment, run_tasks: Callable[[], list[str]]
) -> None:
    services.start_payment(payment=payment, actor=ACTOR)
    payment.refresh_from_db()
    server.decide(
        reference=payment.provider_reference, outcome=Outcome.SUCCEED, payer_method="card"
    )
    from django_tasks import default_task_backend

    _flush_on_commit()
    default_task_backend.results[:] = [  # type: ignore[attr-defined]
        r
        for r in default_task_backend.results
        if r.task.name != "deliver_notification"  # type: ignore[attr-defined]
    ]
    with clock.frozen(payment.expires_at + dt.timedelta(seconds=1)):
        run_tasks()
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED
    assert JournalEntry.objects.filter(kind="payment_succeeded").count() == 1


def test_pending_payment_is_not_expired_but_checked_again(
    payment: Payment, run_tasks: Callable[[], list[str]]
) -> None:
    services.start_payment(payment=payment, actor=ACTOR)
    payment.refresh_from_db()
    server.decide(
        reference=payment.provider_reference,
        outcome=Outcome.PENDING_SUCCEED,
        payer_method="sepa_debit",
    )
    from django_tasks import default_task_backend

    _flush_on_commit()
    # The provider takes long: drop its settle task so the payment stays pending.
    default_task_backend.results[:] = [  # type: ignore[attr-defined]
        r
        for r in default_task_backend.results
        if r.task.name == "check_payment"  # type: ignore[attr-defined]
    ]
    with clock.frozen(payment.expires_at + dt.timedelta(seconds=1)):
        assert run_tasks() == ["check_payment"]
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING
    rescheduled = [r for r in default_task_backend.results if r.task.name == "check_payment"]  # type: ignore[attr-defined]
    assert len(rescheduled) == 1


def test_expiry_while_the_provider_is_down_is_retried(
    flaky: Flaky, payment: Payment, run_tasks: Callable[[], list[str]]
) -> None:
    services.start_payment(payment=payment, actor=ACTOR)
    flaky.failing["poll"] = "before"
    with clock.frozen(payment.expires_at + dt.timedelta(seconds=1)):
        run_tasks()
    assert Payment.objects.get(pk=payment.pk).status == PaymentStatus.STARTED
    del flaky.failing["poll"]
    with clock.frozen(payment.expires_at + dt.timedelta(hours=1)):
        run_tasks()
    assert Payment.objects.get(pk=payment.pk).status == PaymentStatus.EXPIRED
