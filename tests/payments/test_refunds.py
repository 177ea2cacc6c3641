"""Refunds: never more than was paid, posted once, the receivable owed again."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

from rathauskasse.core.errors import ValidationFailed
from rathauskasse.ledger.models import JournalEntry
from rathauskasse.organisations.models import BudgetLine, Department, Organisation
from rathauskasse.payments import registry, services
from rathauskasse.payments.contract import ProviderUnavailable, RefundRequest, RefundResult
from rathauskasse.payments.models import Payment, PaymentStatus, RefundState, RefundStatus
from rathauskasse.providers.sandbox.adapter import SandboxProvider
from rathauskasse.receivables import selectors as receivable_selectors
from rathauskasse.receivables.models import Receivable, ReceivableStatus
from tests import factories

pytestmark = pytest.mark.django_db
ACTOR = factories.ACTOR


def _paid(org: Organisation, *receivables: Receivable) -> Payment:
    from rathauskasse.providers.sandbox import server

    payment = factories.payment(org, *receivables)
    services.start_payment(payment=payment, actor=ACTOR)
    payment.refresh_from_db()
    server.decide(
        reference=payment.provider_reference, outcome=server.Outcome.SUCCEED, payer_method="card"
    )
    return services.sync_payment(payment=payment)


@pytest.fixture
def paid(org: Organisation, department: Department, budget_line: BudgetLine) -> Payment:
    payment = _paid(org, factories.receivable(org, department, budget_line, 3070))
    assert payment.status == PaymentStatus.SUCCEEDED
    return payment


def test_partial_then_full_refund(paid: Payment) -> None:
    receivable = paid.receivables.get()
    first = services.refund_payment(
        actor=ACTOR, payment=paid, amount_cents=1000, reason="Teilweise"
    )
    assert first.status == RefundState.SUCCEEDED
    paid.refresh_from_db()
    assert paid.refund_status == RefundStatus.PARTIAL
    assert receivable_selectors.open_amount(receivable=receivable) == 1000
    assert Receivable.objects.get(pk=receivable.pk).status == ReceivableStatus.OPEN

    services.refund_payment(actor=ACTOR, payment=paid, amount_cents=2070, reason="Rest")
    paid.refresh_from_db()
    assert paid.refund_status == RefundStatus.FULL
    assert receivable_selectors.open_amount(receivable=receivable) == 3070
    assert JournalEntry.objects.filter(kind="refund").count() == 2


def test_more_than_what_is_left_is_refused(paid: Payment) -> None:
    services.refund_payment(actor=ACTOR, payment=paid, amount_cents=3000, reason="fast alles")
    with pytest.raises(services.RefundRefused, match="0,70"):
        services.refund_payment(actor=ACTOR, payment=paid, amount_cents=71, reason="zu viel")
    assert JournalEntry.objects.filter(kind="refund").count() == 1


def test_bad_refund_input_is_refused(paid: Payment) -> None:
    with pytest.raises(ValidationFailed):
        services.refund_payment(actor=ACTOR, payment=paid, amount_cents=0, reason="x")
    with pytest.raises(ValidationFailed, match="Grund"):
        services.refund_payment(actor=ACTOR, payment=paid, amount_cents=10, reason="  ")


def test_only_succeeded_payments_can_be_refunded(
    org: Organisation, department: Department, budget_line: BudgetLine
) -> None:
    payment = factories.payment(org, factories.receivable(org, department, budget_line, 1000))
    with pytest.raises(services.RefundRefused, match="erfolgreiche"):
        services.refund_payment(actor=ACTOR, payment=payment, amount_cents=100, reason="x")


def test_a_basket_refund_is_spread_over_its_receivables_exactly(
    org: Organisation, department: Department, budget_line: BudgetLine
) -> None:
    a = factories.receivable(org, department, budget_line, 1000)
    b = factories.receivable(org, department, budget_line, 2000)
    payment = _paid(org, a, b)
    refund = services.refund_payment(actor=ACTOR, payment=payment, amount_cents=1001, reason="x")
    parts = dict(refund.allocations.values_list("receivable_id", "amount_cents"))
    assert sum(parts.values()) == 1001
    assert parts == {a.pk: 334, b.pk: 667}
    # What is left per receivable is respected by the next refunds.
    services.refund_payment(actor=ACTOR, payment=payment, amount_cents=1999, reason="Rest")
    assert receivable_selectors.open_amount(receivable=a) == 1000
    assert receivable_selectors.open_amount(receivable=b) == 2000


class _Declining(SandboxProvider):
    def refund(self, request: RefundRequest) -> RefundResult:
        return RefundResult(succeeded=False, failure_reason="card expired")


class _Down(SandboxProvider):
    def refund(self, request: RefundRequest) -> RefundResult:
        raise ProviderUnavailable("timeout")


@pytest.fixture
def declining() -> Iterator[None]:
    with registry.override("sandbox", _Declining(secret="test-secret")):
        yield


def test_a_refund_the_provider_declines_books_nothing(paid: Payment, declining: None) -> None:
    refund = services.refund_payment(actor=ACTOR, payment=paid, amount_cents=500, reason="x")
    assert refund.status == RefundState.FAILED
    assert refund.failure_reason == "card expired"
    assert not JournalEntry.objects.filter(kind="refund").exists()
    paid.refresh_from_db()
    assert paid.refund_status == RefundStatus.NONE
    assert services.refundable_cents(paid) == 3070


def test_a_refund_while_the_provider_is_down_stays_pending_and_is_retried(
    paid: Payment, run_tasks: object
) -> None:
    with registry.override("sandbox", _Down(secret="test-secret")):
        refund = services.refund_payment(actor=ACTOR, payment=paid, amount_cents=500, reason="x")
    assert refund.status == RefundState.PENDING
    assert services.refundable_cents(paid) == 2570  # the pending refund is reserved
    assert not JournalEntry.objects.filter(kind="refund").exists()

    import datetime as dt

    from rathauskasse.core import clock

    with clock.frozen(clock.now() + dt.timedelta(minutes=6)):
        assert "retry_refund" in run_tasks()  # type: ignore[operator]
    refund.refresh_from_db()
    assert refund.status == RefundState.SUCCEEDED
    assert JournalEntry.objects.filter(kind="refund").count() == 1


class _CannotRefund(SandboxProvider):
    """A provider without refunds (XBezahldienste has no refund operation)."""

    name = "Bezahldienst ohne Erstattung"
    capabilities = dataclasses.replace(
        SandboxProvider.capabilities, refunds=False, partial_refunds=False
    )

    def refund(self, request: RefundRequest) -> RefundResult:
        raise AssertionError("a provider without refunds is never asked to refund")


def test_a_provider_without_refunds_is_not_asked_and_the_refusal_says_why(paid: Payment) -> None:
    with (
        registry.override("sandbox", _CannotRefund(secret="test-secret")),
        pytest.raises(services.RefundRefused) as refused,
    ):
        services.refund_payment(actor=ACTOR, payment=paid, amount_cents=3070, reason="Doppelt")
    assert refused.value.message == (
        "Zahlungen über „Bezahldienst ohne Erstattung“ können hier nicht erstattet werden, weil "
        "der Zahlungsdienst keine Erstattung anbietet. "
        "Bitte erstatten Sie den Betrag per Überweisung."
    )
    assert not paid.refunds.exists()
    assert services.refundable_cents(paid) == 3070
    paid.refresh_from_db()
    assert paid.refund_status == RefundStatus.NONE
