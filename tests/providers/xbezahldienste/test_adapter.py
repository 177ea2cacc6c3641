"""The XBezahldienste adapter through the payments domain: start, status, polls, recovery."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import httpx
import pytest
from django.test import Client
from django_tasks import default_task_backend

from rathauskasse.core import clock
from rathauskasse.ledger.models import JournalEntry
from rathauskasse.organisations.models import BudgetLine, Department, Organisation
from rathauskasse.payments import registry, services
from rathauskasse.payments.contract import (
    InvalidNotification,
    Notification,
    PaymentProvider,
    ProviderState,
    ProviderUnavailable,
)
from rathauskasse.payments.models import Payment, PaymentEvent, PaymentStatus
from rathauskasse.providers.xbezahldienste import adapter as xbd
from rathauskasse.providers.xbezahldienste.adapter import XBezahldiensteProvider
from rathauskasse.providers.xbezahldienste.client import Status, Transaction
from rathauskasse.providers.xbezahldienste.models import Connection
from tests import factories
from tests.conftest import _flush_on_commit
from tests.providers.xbezahldienste.conftest import FakeService, json_of, make_connection, recorded

pytestmark = pytest.mark.django_db
ACTOR = factories.ACTOR
MINUTE = dt.timedelta(minutes=1)


@pytest.fixture
def pay(
    org: Organisation, department: Department, budget_line: BudgetLine, connection: Connection
) -> Callable[..., Payment]:
    def make(*amounts: int, **overrides: Any) -> Payment:
        receivable = factories.receivable(org, department, budget_line, *(amounts or (3070,)))
        return factories.payment(org, receivable, provider="xbezahldienste", **overrides)

    return make


def started(payment: Payment) -> Payment:
    services.start_payment(payment=payment, actor=ACTOR)
    return Payment.objects.get(pk=payment.pk)


def transaction_id(payment: Payment) -> str:
    return payment.provider_reference.split(":", 1)[1]


def scheduled(name: str) -> list[dt.datetime | None]:
    _flush_on_commit()
    return [
        r.task.run_after
        for r in default_task_backend.results  # type: ignore[attr-defined]
        if r.task.name == name
    ]


def test_the_registry_builds_it_from_the_settings() -> None:
    provider = registry.get_provider("xbezahldienste")
    assert isinstance(provider, PaymentProvider)
    assert provider.capabilities.notifies is False
    assert provider.capabilities.refunds is False
    assert provider.capabilities.methods == {"card", "paypal", "giropay", "sepa_debit"}


# --- start ----------------------------------------------------------------------------------


def test_start_sends_the_items_and_the_payer_to_the_services_page(
    provider: XBezahldiensteProvider,
    service: FakeService,
    connection: Connection,
    pay: Callable[..., Payment],
    budget_line: BudgetLine,
) -> None:
    payment = pay(2000, 1070)
    redirect = services.start_payment(payment=payment, actor=ACTOR)
    payment.refresh_from_db()

    (post,) = service.posts()
    sent = json_of(post)
    assert sent["requestId"] == str(payment.public_id)
    assert sent["grosAmount"] == Decimal("30.70")
    assert sent["redirectUrl"] == payment.return_url
    assert [(i["description"], i["totalNetAmount"]) for i in sent["items"]] == [
        ("Position 1", Decimal("20.00")),
        ("Position 2", Decimal("10.70")),
    ]
    assert sent["items"][0]["bookingData"]["Haushaltsstelle"] == budget_line.code
    assert payment.status == PaymentStatus.STARTED
    assert payment.provider_reference == f"{connection.pk}:{transaction_id(payment)}"
    assert redirect == payment.redirect_url
    assert redirect == f"https://bezahldienst.example/bezahlen/{transaction_id(payment)}"


@pytest.mark.parametrize("names_existing", [True, False])
def test_a_lost_start_answer_is_repeated_and_the_existing_transaction_taken(
    provider: XBezahldiensteProvider,
    service: FakeService,
    pay: Callable[..., Payment],
    sleeps: list[float],
    *,
    names_existing: bool,
) -> None:
    service.names_existing = names_existing
    service.faults.append("lost")  # the service made the transaction; its answer got lost
    payment = started(pay())
    assert payment.status == PaymentStatus.STARTED
    assert len(service.transactions) == 1
    (created,) = service.transactions
    assert payment.provider_reference.endswith(f":{created}")
    first, second = service.posts()
    assert first.content == second.content
    (get,) = service.gets()
    expected = created if names_existing else str(payment.public_id)
    assert get.url.path.endswith(f"/{expected}")
    assert sleeps == [0.5]


@pytest.mark.parametrize(
    "name",
    [
        "problem_calculation_error",
        "problem_booking_data_missing",
        "problem_validation_error",
        "problem_no_valid_originator_or_endpoint",
        "problem_forbidden",
        "problem_unspecified",
    ],
)
def test_a_refusal_fails_the_payment_and_the_payer_reads_german(
    name: str, provider: XBezahldiensteProvider, service: FakeService, pay: Callable[..., Payment]
) -> None:
    service.faults.append(recorded(name))
    payment = pay()
    with pytest.raises(
        services.PaymentRefused, match="nicht angenommen; es wurde nichts abgebucht"
    ):
        services.start_payment(payment=payment, actor=ACTOR)
    payment.refresh_from_db()
    code = name.removeprefix("problem_").upper()
    assert payment.status == PaymentStatus.FAILED
    assert payment.failure_reason == f"provider_refused:{code}"
    event = PaymentEvent.objects.get(payment=payment, kind="provider_refused")
    assert event.data["code"] == code


def test_an_unreachable_service_leaves_the_payment_to_start_again(
    provider: XBezahldiensteProvider, service: FakeService, pay: Callable[..., Payment]
) -> None:
    service.faults += [httpx.ConnectError, recorded("problem_unspecified_500")]
    payment = pay()
    with pytest.raises(services.ProviderFailed, match="nicht erreichbar"):
        services.start_payment(payment=payment, actor=ACTOR)
    assert Payment.objects.get(pk=payment.pk).status == PaymentStatus.CREATED
    assert services.start_payment(payment=Payment.objects.get(pk=payment.pk), actor=ACTOR)
    assert Payment.objects.get(pk=payment.pk).status == PaymentStatus.STARTED


def test_without_an_active_connection_or_offered_method_the_payment_is_refused(
    provider: XBezahldiensteProvider,
    service: FakeService,
    connection: Connection,
    pay: Callable[..., Payment],
) -> None:
    connection.methods = ["paypal"]
    connection.save()
    with pytest.raises(services.PaymentRefused):
        services.start_payment(payment=pay(), actor=ACTOR)
    connection.enabled = False
    connection.save()
    payment = pay()
    with pytest.raises(services.PaymentRefused):
        services.start_payment(payment=payment, actor=ACTOR)
    assert Payment.objects.get(pk=payment.pk).failure_reason == "provider_refused:NO_CONNECTION"
    assert service.requests == []


def test_a_start_that_finds_a_decided_transaction_sends_the_payer_back_to_us(
    provider: XBezahldiensteProvider, service: FakeService, pay: Callable[..., Payment]
) -> None:
    payment = pay()
    service.faults.append("lost")
    service.faults.append(httpx.ReadTimeout)
    with pytest.raises(services.ProviderFailed):
        services.start_payment(payment=payment, actor=ACTOR)
    service.set_status(str(payment.public_id), "PAYED")
    redirect = services.start_payment(payment=Payment.objects.get(pk=payment.pk), actor=ACTOR)
    assert redirect == payment.return_url  # the return page polls and shows the success
    assert services.sync_payment(payment=Payment.objects.get(pk=payment.pk)).status == (
        PaymentStatus.SUCCEEDED
    )


def test_a_transaction_with_another_amount_is_not_taken(
    provider: XBezahldiensteProvider, service: FakeService, pay: Callable[..., Payment]
) -> None:
    payment = pay()
    service.faults.append("lost")
    service.faults.append(httpx.ReadTimeout)
    with pytest.raises(services.ProviderFailed):
        services.start_payment(payment=payment, actor=ACTOR)
    next(iter(service.transactions.values()))["request"]["grosAmount"] = Decimal("3.07")
    with pytest.raises(services.PaymentRefused):
        services.start_payment(payment=Payment.objects.get(pk=payment.pk), actor=ACTOR)
    assert Payment.objects.get(pk=payment.pk).failure_reason == "provider_refused:AMOUNT_MISMATCH"


# --- status ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "expected", "reason"),
    [
        ("INITIAL", PaymentStatus.STARTED, ""),
        ("PAYED", PaymentStatus.SUCCEEDED, ""),
        ("FAILED", PaymentStatus.FAILED, "Karte abgelehnt (Limit)"),
        ("CANCELED", PaymentStatus.CANCELLED, ""),
    ],
)
def test_the_status_is_mapped_and_booked_once(
    provider: XBezahldiensteProvider,
    service: FakeService,
    pay: Callable[..., Payment],
    status: str,
    expected: PaymentStatus,
    reason: str,
) -> None:
    payment = started(pay())
    service.set_status(str(payment.public_id), status)
    for _ in range(3):  # the return page, a scheduled poll, the expiry check: the same answer
        payment = services.sync_payment(payment=Payment.objects.get(pk=payment.pk))
    assert payment.status == expected
    assert payment.failure_reason == reason
    booked = JournalEntry.objects.filter(kind="payment_succeeded").count()
    assert booked == (1 if expected == PaymentStatus.SUCCEEDED else 0)
    if expected != PaymentStatus.STARTED:
        event = PaymentEvent.objects.get(payment=payment, to_status=expected)
        assert event.provider_event_id == f"{transaction_id(payment)}:{status}"
        assert event.source == "poll"


@pytest.mark.parametrize(
    ("method", "ours"),
    [
        ("CREDITCARD", "card"),
        ("PAYPAL", "paypal"),
        ("GIROPAY", "giropay"),
        ("PAYDIRECT", "giropay"),
        ("OTHER", ""),
    ],
)
def test_the_services_payment_method_is_mapped_back(method: str, ours: str) -> None:
    transaction = Transaction("T1", Status.PAYED, Decimal("30.7"), "r", payment_method=method)
    report = xbd.report_of(3, transaction, "r")
    assert report.method == ours
    assert report.amount_cents == 3070
    assert report.state == ProviderState.SUCCEEDED
    assert report.provider_reference == "3:T1"
    assert report.event_id == "T1:PAYED"


def test_an_amount_that_differs_is_an_anomaly_not_a_success(
    provider: XBezahldiensteProvider, service: FakeService, pay: Callable[..., Payment]
) -> None:
    payment = started(pay())
    service.set_status(str(payment.public_id), "PAYED")
    next(iter(service.transactions.values()))["request"]["grosAmount"] = Decimal("30.00")
    payment = services.sync_payment(payment=payment)
    assert payment.status == PaymentStatus.STARTED
    anomaly = PaymentEvent.objects.get(payment=payment, kind="anomaly:amount_mismatch")
    assert anomaly.data == {"reported_state": "succeeded", "reported_amount_cents": 3000}
    assert not JournalEntry.objects.filter(kind="payment_succeeded").exists()


def test_an_answer_about_another_payment_is_not_applied(
    provider: XBezahldiensteProvider, service: FakeService, pay: Callable[..., Payment]
) -> None:
    payment = started(pay())
    next(iter(service.transactions.values()))["request"]["requestId"] = str(uuid.uuid4())
    with pytest.raises(services.ProviderFailed):
        services.sync_payment(payment=payment)


def test_a_status_the_service_refuses_is_asked_again_later(
    provider: XBezahldiensteProvider, service: FakeService, pay: Callable[..., Payment]
) -> None:
    payment = started(pay())
    service.faults.append(recorded("problem_forbidden"))
    with pytest.raises(services.ProviderFailed):
        services.sync_payment(payment=payment)
    assert Payment.objects.get(pk=payment.pk).status == PaymentStatus.STARTED


def test_a_payment_of_a_switched_off_connection_is_still_asked_there(
    provider: XBezahldiensteProvider,
    service: FakeService,
    connection: Connection,
    org: Organisation,
    pay: Callable[..., Payment],
) -> None:
    payment = started(pay())
    connection.enabled = False
    connection.save()
    make_connection(org, name="pmPayment", base_url="https://anderer.example/v1")
    service.set_status(str(payment.public_id), "PAYED")
    assert services.sync_payment(payment=payment).status == PaymentStatus.SUCCEEDED
    assert all(r.url.host == "bezahldienst.example" for r in service.requests)


# --- polls, recovery, expiry ----------------------------------------------------------------


def test_polls_confirm_a_payed_payment_once_and_then_stop(
    provider: XBezahldiensteProvider,
    service: FakeService,
    pay: Callable[..., Payment],
    run_tasks: Callable[[], list[str]],
) -> None:
    payment = started(pay())
    assert scheduled("poll_payment") == [payment.created_at + MINUTE]
    with clock.frozen(payment.created_at + MINUTE):
        assert run_tasks() == ["poll_payment"]
    assert scheduled("poll_payment") == [payment.created_at + 3 * MINUTE]
    service.set_status(str(payment.public_id), "PAYED")
    with clock.frozen(payment.created_at + 3 * MINUTE):
        assert "poll_payment" in run_tasks()
    assert scheduled("poll_payment") == []
    with clock.frozen(payment.expires_at + MINUTE):
        run_tasks()  # the expiry check finds it decided
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED
    assert JournalEntry.objects.filter(kind="payment_succeeded").count() == 1
    assert PaymentEvent.objects.filter(payment=payment, to_status="succeeded").count() == 1
    assert len(service.gets()) == 2


def test_a_start_lost_entirely_is_found_by_the_first_poll(
    provider: XBezahldiensteProvider,
    service: FakeService,
    connection: Connection,
    pay: Callable[..., Payment],
    run_tasks: Callable[[], list[str]],
) -> None:
    payment = pay()
    service.faults += ["lost", httpx.ConnectTimeout]
    with pytest.raises(services.ProviderFailed):
        services.start_payment(payment=payment, actor=ACTOR)
    assert Payment.objects.get(pk=payment.pk).provider_reference == ""
    service.set_status(str(payment.public_id), "PAYED")
    with clock.frozen(payment.created_at + MINUTE):
        run_tasks()
    payment.refresh_from_db()
    (created,) = service.transactions
    assert service.gets()[-1].url.path.endswith(f"/{payment.public_id}")  # by our requestId
    assert payment.provider_reference == f"{connection.pk}:{created}"
    assert payment.status == PaymentStatus.SUCCEEDED


def test_a_start_the_service_never_saw_expires_quietly(
    provider: XBezahldiensteProvider,
    service: FakeService,
    pay: Callable[..., Payment],
    run_tasks: Callable[[], list[str]],
) -> None:
    payment = pay()
    service.faults += [httpx.ConnectError, httpx.ConnectError]
    with pytest.raises(services.ProviderFailed):
        services.start_payment(payment=payment, actor=ACTOR)
    with clock.frozen(payment.expires_at + MINUTE):
        run_tasks()
    assert Payment.objects.get(pk=payment.pk).status == PaymentStatus.EXPIRED
    assert scheduled("look_for_late_success") == []


def test_expiry_stops_an_open_transaction_and_a_late_payment_is_flagged(
    provider: XBezahldiensteProvider,
    service: FakeService,
    pay: Callable[..., Payment],
    run_tasks: Callable[[], list[str]],
) -> None:
    payment = started(pay())
    _flush_on_commit()
    default_task_backend.clear()  # type: ignore[attr-defined]  # (its polls and expiry check)
    with clock.frozen(payment.expires_at):
        payment = services.settle_expired(payment=payment)
    assert payment.status == PaymentStatus.EXPIRED  # the standard has no cancel
    assert scheduled("look_for_late_success") == [payment.expires_at + dt.timedelta(hours=1)]
    service.set_status(str(payment.public_id), "PAYED")
    with clock.frozen(payment.expires_at + dt.timedelta(hours=1)):
        assert run_tasks() == ["look_for_late_success"]
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.EXPIRED
    assert PaymentEvent.objects.filter(payment=payment, kind="anomaly:state_conflict").count() == 1
    assert not JournalEntry.objects.filter(kind="payment_succeeded").exists()


def test_abandoning_takes_a_cancel_there_as_it_is(
    provider: XBezahldiensteProvider, service: FakeService, pay: Callable[..., Payment]
) -> None:
    payment = started(pay())
    service.set_status(str(payment.public_id), "CANCELED")
    assert services.abandon_payment(payment=payment, actor=ACTOR).status == PaymentStatus.CANCELLED
    assert scheduled("look_for_late_success") == []
    other = started(
        factories.payment(
            payment.organisation,
            factories.receivable(
                payment.organisation,
                factories.department(payment.organisation, "Ordnungsamt"),
                factories.budget_line(payment.organisation),
            ),
            provider="xbezahldienste",
        )
    )
    assert services.abandon_payment(payment=other, actor=ACTOR).status == PaymentStatus.CANCELLED
    assert len(scheduled("look_for_late_success")) == 1  # still open there: watched


def test_cancel_of_a_transaction_the_service_forgot_is_retried_later(
    provider: XBezahldiensteProvider, service: FakeService, pay: Callable[..., Payment]
) -> None:
    payment = started(pay())
    service.transactions.clear()
    service.finds_by_request_id = False
    with pytest.raises(ProviderUnavailable):
        provider.cancel(provider_reference=payment.provider_reference)


# --- what the standard does not have -------------------------------------------------------


def test_notifications_are_refused(provider: XBezahldiensteProvider, client: Client) -> None:
    with pytest.raises(InvalidNotification):
        provider.parse_notification(Notification(headers={}, body=b"{}"))
    response = client.post(
        "/providers/xbezahldienste/notify/", b"{}", content_type="application/json"
    )
    assert response.status_code == 400


def test_a_refund_is_refused_without_asking_the_service(
    provider: XBezahldiensteProvider, service: FakeService, pay: Callable[..., Payment]
) -> None:
    payment = started(pay())
    service.set_status(str(payment.public_id), "PAYED")
    payment = services.sync_payment(payment=payment)
    requests = len(service.requests)
    with pytest.raises(services.RefundRefused, match="keine Erstattung anbietet"):
        services.refund_payment(actor=ACTOR, payment=payment, amount_cents=100, reason="doppelt")
    assert len(service.requests) == requests
    assert not payment.refunds.exists()
