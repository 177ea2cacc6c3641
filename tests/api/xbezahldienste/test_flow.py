"""Whole payments through the sandbox: paid, cancelled, declined, timed out, provider down."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from tests import factories
from tests.api.xbezahldienste.conftest import Pair, payment_request
from tests.payments.test_recovery import Flaky

from rathauskasse.api.models import XBezahldiensteTransaction
from rathauskasse.core import clock
from rathauskasse.ledger import selectors as ledger_selectors
from rathauskasse.ledger.models import EntryKind, JournalEntry
from rathauskasse.payments import registry
from rathauskasse.payments import services as payments
from rathauskasse.payments.models import Payment, PaymentStatus
from rathauskasse.providers.sandbox import server
from rathauskasse.receivables import selectors as receivable_selectors
from rathauskasse.receivables.models import Receivable, ReceivableStatus

pytestmark = pytest.mark.django_db


def _start(pair: Pair, **overrides: Any) -> dict[str, Any]:
    response = pair.post(payment_request(**overrides))
    assert response.status_code == 200, response.content
    info: dict[str, Any] = response.json()["paymentInformation"]
    return info


def _pay_at_the_sandbox(client: Client, info: dict[str, Any], outcome: str) -> Any:
    """The payer on the provider's hosted page, then back through our return page."""
    page = info["transactionRedirectUrl"].removeprefix("http://testserver")
    assert client.get(page).status_code == 200
    decided = client.post(page, {"outcome": outcome, "payer_method": "paypal"})
    assert decided.status_code == 302
    assert decided["Location"] == (
        f"http://testserver/xbezahldienste/zurueck/{info['transactionId']}/"
    )
    back = client.get(decided["Location"].removeprefix("http://testserver"))
    assert back.status_code == 303
    assert back["Location"] == "https://dienst.example/zurueck?antrag=4711"
    return back


def _cancellations(receivable: Receivable) -> int:
    return JournalEntry.objects.filter(
        organisation_id=receivable.organisation_id, kind=EntryKind.REVERSAL
    ).count()


def test_paid_through_the_sandbox_reads_payed_and_books_the_receivable(pair: Pair) -> None:
    info = _start(pair)
    _pay_at_the_sandbox(pair.client, info, "succeed")
    got = pair.get(info["transactionId"])
    assert got.status_code == 200
    paid = got.json()["paymentInformation"]
    assert paid["status"] == "PAYED"
    assert paid["paymentMethod"] == "CREDITCARD"  # the method the pair starts payments with
    assert "transactionRedirectUrl" not in paid
    moment = dt.datetime.fromisoformat(paid["transactionTimestamp"])
    assert abs((clock.now() - moment).total_seconds()) < 60
    receivable = Receivable.objects.get(kassenzeichen=paid["transactionReference"])
    assert receivable.status == ReceivableStatus.PAID
    assert receivable_selectors.open_amount(receivable=receivable) == 0
    assert ledger_selectors.check_integrity().ok
    # A poll after the end changes nothing and books nothing.
    entries = JournalEntry.objects.count()
    assert pair.get("antrag-4711").json()["paymentInformation"]["status"] == "PAYED"
    assert JournalEntry.objects.count() == entries


@pytest.mark.parametrize(
    ("outcome", "status", "detail"),
    [("cancel", "CANCELED", "abgebrochen"), ("decline", "FAILED", "abgelehnt")],
)
def test_a_cancelled_or_declined_payment_cancels_the_receivable_once(
    pair: Pair, run_tasks: Callable[[], list[str]], outcome: str, status: str, detail: str
) -> None:
    info = _start(pair)
    _pay_at_the_sandbox(pair.client, info, outcome)
    run_tasks()  # the sandbox's notification arrives as well: nothing is booked twice
    ended = pair.get(info["transactionId"]).json()["paymentInformation"]
    assert ended["status"] == status
    assert detail in ended["statusDetail"]
    assert "transactionRedirectUrl" not in ended
    assert "paymentMethod" not in ended
    receivable = Receivable.objects.get()
    assert receivable.status == ReceivableStatus.CANCELLED
    assert receivable_selectors.open_amount(receivable=receivable) == 0
    assert _cancellations(receivable) == 1
    assert ledger_selectors.check_integrity().ok


def test_a_poll_finds_the_outcome_when_the_notification_is_late(pair: Pair) -> None:
    info = _start(pair)
    payment = Payment.objects.get()
    server.decide(
        reference=payment.provider_reference, outcome=server.Outcome.SUCCEED, payer_method="card"
    )
    # No notification delivered, the payer never came back: the poll asks the provider.
    assert pair.get(info["transactionId"]).json()["paymentInformation"]["status"] == "PAYED"
    assert Receivable.objects.get().status == ReceivableStatus.PAID


def test_a_payment_nobody_finishes_fails_after_the_timeout(
    pair: Pair, run_tasks: Callable[[], list[str]]
) -> None:
    info = _start(pair)
    payment = Payment.objects.get()
    with clock.frozen(payment.expires_at + dt.timedelta(seconds=1)):
        run_tasks()
    ended = pair.get(info["transactionId"]).json()["paymentInformation"]
    assert ended["status"] == "FAILED"
    assert "Zeitüberschreitung" in ended["statusDetail"]
    assert Receivable.objects.get().status == ReceivableStatus.CANCELLED


def test_pending_is_still_initial(pair: Pair) -> None:
    info = _start(pair)
    payment = Payment.objects.get()
    server.decide(
        reference=payment.provider_reference,
        outcome=server.Outcome.PENDING_SUCCEED,
        payer_method="sepa_debit",
    )
    pending = pair.get(info["transactionId"]).json()["paymentInformation"]
    assert Payment.objects.get().status == PaymentStatus.PENDING
    assert pending["status"] == "INITIAL"
    assert "prüft" in pending["statusDetail"]


@pytest.mark.parametrize(
    ("method", "name", "detail"),
    [
        ("sepa_debit", "OTHER", "SEPA-Lastschrift"),
        ("wero", "OTHER", "Wero"),
        ("giropay", "GIROPAY", None),
    ],
)
def test_payment_methods_are_named_as_the_standard_names_them(
    pair: Pair, method: str, name: str, detail: str | None
) -> None:
    pair.endpoint.method = method
    pair.endpoint.save()
    info = _start(pair)
    payment = Payment.objects.get()
    payments.confirm_payment(
        payment=payment, source=payments.EventSource.POLL, actor=factories.ACTOR
    )
    paid = pair.get(info["transactionId"]).json()["paymentInformation"]
    assert paid["paymentMethod"] == name
    assert paid.get("paymentMethodDetail") == detail


@pytest.mark.parametrize("when", ["before", "after"])
def test_a_provider_that_is_down_leaves_nothing_open(pair: Pair, when: str) -> None:
    flaky = Flaky()
    flaky.failing["start"] = when
    with registry.override("sandbox", flaky):  # type: ignore[arg-type]
        response = pair.post(payment_request())
    assert response.status_code == 503
    problem = response.json()
    assert problem["functionalCode"] == "UNSPECIFIED"
    assert "Zahlungsdienst" in problem["detail"]
    receivable = Receivable.objects.get()
    assert receivable.status == ReceivableStatus.CANCELLED
    assert receivable_selectors.open_amount(receivable=receivable) == 0
    assert Payment.objects.get().status == PaymentStatus.CANCELLED
    assert XBezahldiensteTransaction.objects.get().withdrawn_at is not None
    assert pair.get("antrag-4711").status_code == 404  # the client never got a transaction
    assert ledger_selectors.check_integrity().ok
    # The same requestId goes through once the provider is back.
    again = pair.post(payment_request())
    assert again.status_code == 200, again.content
    assert Receivable.objects.filter(status=ReceivableStatus.OPEN).count() == 1


def test_a_receivable_paid_another_way_meanwhile_is_not_cancelled(pair: Pair) -> None:
    _start(pair)
    receivable = Receivable.objects.get()
    other = factories.payment(pair.org, receivable)
    payments.start_payment(payment=other, actor=factories.ACTOR)
    xbd = XBezahldiensteTransaction.objects.get().payment
    payments.cancel_payment(payment=xbd, source=payments.EventSource.POLL, actor=factories.ACTOR)
    receivable.refresh_from_db()
    assert receivable.status == ReceivableStatus.OPEN  # the portal payment may still come in
