"""The sandbox behaves like a real hosted payment page with signed webhooks."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable

import pytest
from django.test import Client

from rathauskasse.core import clock
from rathauskasse.core.models import AuditEntry
from rathauskasse.ledger.models import JournalEntry
from rathauskasse.organisations.models import BudgetLine, Department, Organisation
from rathauskasse.payments import services
from rathauskasse.payments.models import Payment, PaymentEvent, PaymentStatus
from rathauskasse.providers.sandbox import server
from rathauskasse.providers.sandbox.models import SandboxNotification, SandboxState
from rathauskasse.receivables.models import Receivable, ReceivableStatus
from tests import factories
from tests.support import DjangoClientTransport

pytestmark = pytest.mark.django_db
RunTasks = Callable[[], list[str]]


@pytest.fixture
def transport(monkeypatch: pytest.MonkeyPatch) -> DjangoClientTransport:
    t = DjangoClientTransport()
    monkeypatch.setattr(server, "http_transport", t)
    return t


@pytest.fixture
def started(org: Organisation, department: Department, budget_line: BudgetLine) -> Payment:
    receivable = factories.receivable(org, department, budget_line, 3070)
    payment = factories.payment(org, receivable, return_url="http://testserver/zurueck/")
    services.start_payment(payment=payment, actor=factories.ACTOR)
    return Payment.objects.get(pk=payment.pk)


def _page(payment: Payment) -> str:
    return f"/sandbox/bezahlen/{payment.provider_reference}/"


def _signed(
    body: dict[str, object], *, at: dt.datetime | None = None, secret: str = "test-secret"
) -> dict[str, str]:
    raw = json.dumps(body).encode()
    timestamp = int((at or clock.now()).timestamp())
    return {"body": raw, "signature": server.sign(raw, timestamp=timestamp, secret=secret)}  # type: ignore[dict-item]


def _notify(
    client: Client,
    payment: Payment,
    state: str,
    *,
    amount: int | None = None,
    event: str = "e1",
    at: dt.datetime | None = None,
    secret: str = "test-secret",
) -> int:
    body = {
        "id": event,
        "type": "payment.updated",
        "data": {
            "reference": payment.provider_reference,
            "payment_reference": str(payment.public_id),
            "state": state,
            "amount_cents": payment.amount_cents if amount is None else amount,
        },
    }
    signed = _signed(body, at=at, secret=secret)
    response = client.post(
        "/providers/sandbox/notify/",
        data=signed["body"],
        content_type="application/json",
        headers={"Sandbox-Signature": signed["signature"]},
    )
    return response.status_code


def test_hosted_page_is_marked_as_a_test_and_shows_the_amount(
    client: Client, started: Payment
) -> None:
    response = client.get(_page(started))
    html = response.content.decode()
    assert response.status_code == 200
    assert "TESTZAHLUNG" in html
    assert "30,70" in html
    assert "Zahlung gelingt" in html and "scheitert später" in html


def test_paying_on_the_page_redirects_back_and_the_webhook_books(
    client: Client, started: Payment, transport: DjangoClientTransport, run_tasks: RunTasks
) -> None:
    response = client.post(_page(started), {"payer_method": "paypal", "outcome": "succeed"})
    assert response.status_code == 302
    assert response["Location"] == "http://testserver/zurueck/"
    run_tasks()
    assert [r.url.path for r in transport.requests] == ["/providers/sandbox/notify/"]
    started.refresh_from_db()
    assert started.status == PaymentStatus.SUCCEEDED
    assert Receivable.objects.get().status == ReceivableStatus.PAID
    assert SandboxNotification.objects.get().delivered_at is not None


@pytest.mark.parametrize(
    ("outcome", "status", "reason"),
    [("decline", PaymentStatus.FAILED, "declined"), ("cancel", PaymentStatus.CANCELLED, "")],
)
def test_declined_and_cancelled_payments_book_nothing(
    client: Client,
    started: Payment,
    transport: DjangoClientTransport,
    run_tasks: RunTasks,
    outcome: str,
    status: PaymentStatus,
    reason: str,
) -> None:
    client.post(_page(started), {"payer_method": "card", "outcome": outcome})
    run_tasks()
    started.refresh_from_db()
    assert started.status == status
    assert started.failure_reason == reason
    assert not JournalEntry.objects.filter(kind="payment_succeeded").exists()
    assert Receivable.objects.get().status == ReceivableStatus.OPEN


@pytest.mark.parametrize(
    ("outcome", "final"),
    [("pending_succeed", PaymentStatus.SUCCEEDED), ("pending_fail", PaymentStatus.FAILED)],
)
def test_pending_payments_are_decided_later_by_a_task(
    client: Client,
    started: Payment,
    transport: DjangoClientTransport,
    run_tasks: RunTasks,
    outcome: str,
    final: PaymentStatus,
) -> None:
    client.post(_page(started), {"payer_method": "sepa_debit", "outcome": outcome})
    run_tasks()
    started.refresh_from_db()
    assert started.status == PaymentStatus.PENDING
    with clock.frozen(clock.now() + dt.timedelta(minutes=1)):
        assert "settle_pending" in run_tasks()
    started.refresh_from_db()
    assert started.status == final


def test_page_of_a_decided_payment_cannot_be_submitted_again(
    client: Client, started: Payment
) -> None:
    client.post(_page(started), {"payer_method": "card", "outcome": "decline"})
    response = client.post(_page(started), {"payer_method": "card", "outcome": "succeed"})
    assert response.status_code == 200
    assert "abgelehnt" in response.content.decode()
    assert server.find(reference=started.provider_reference).state == SandboxState.FAILED  # type: ignore[union-attr]


def test_unknown_page_is_404(client: Client, db: None) -> None:
    assert client.get("/sandbox/bezahlen/sbx_nothing/").status_code == 404


def test_forged_notification_changes_nothing(client: Client, started: Payment) -> None:
    assert _notify(client, started, "succeeded", secret="wrong") == 400
    started.refresh_from_db()
    assert started.status == PaymentStatus.STARTED
    assert not JournalEntry.objects.filter(kind="payment_succeeded").exists()


def test_replayed_old_notification_changes_nothing(client: Client, started: Payment) -> None:
    assert _notify(client, started, "succeeded", at=clock.now() - dt.timedelta(minutes=10)) == 400
    started.refresh_from_db()
    assert started.status == PaymentStatus.STARTED


def test_notification_without_signature_or_with_garbage_is_refused(
    client: Client, started: Payment
) -> None:
    assert (
        client.post(
            "/providers/sandbox/notify/", data=b"{}", content_type="application/json"
        ).status_code
        == 400
    )
    raw = b"not json"
    response = client.post(
        "/providers/sandbox/notify/",
        data=raw,
        content_type="application/json",
        headers={
            "Sandbox-Signature": server.sign(
                raw, timestamp=int(clock.now().timestamp()), secret="test-secret"
            )
        },
    )
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "invalid_notification"
    assert client.get("/providers/sandbox/notify/").status_code == 405


def test_the_same_notification_twice_books_once(client: Client, started: Payment) -> None:
    assert _notify(client, started, "succeeded", event="e7") == 200
    assert _notify(client, started, "succeeded", event="e7") == 200
    assert (
        PaymentEvent.objects.filter(payment=started, to_status=PaymentStatus.SUCCEEDED).count() == 1
    )
    assert JournalEntry.objects.filter(kind="payment_succeeded").count() == 1


def test_an_older_state_arriving_late_does_not_go_back(client: Client, started: Payment) -> None:
    assert _notify(client, started, "succeeded", event="e2") == 200
    assert _notify(client, started, "pending", event="e1") == 200
    started.refresh_from_db()
    assert started.status == PaymentStatus.SUCCEEDED
    assert not PaymentEvent.objects.filter(payment=started, kind__startswith="anomaly").exists()


def test_a_conflicting_outcome_is_recorded_for_the_cash_office_not_booked(
    client: Client, started: Payment
) -> None:
    assert _notify(client, started, "failed", event="e1") == 200
    assert _notify(client, started, "succeeded", event="e2") == 200
    started.refresh_from_db()
    assert started.status == PaymentStatus.FAILED
    assert PaymentEvent.objects.filter(payment=started, kind="anomaly:state_conflict").count() == 1
    assert AuditEntry.objects.filter(action="payment.anomaly.state_conflict").exists()
    assert not JournalEntry.objects.filter(kind="payment_succeeded").exists()


def test_a_notification_with_another_amount_is_not_booked(client: Client, started: Payment) -> None:
    assert _notify(client, started, "succeeded", amount=1) == 200
    started.refresh_from_db()
    assert started.status == PaymentStatus.STARTED
    assert PaymentEvent.objects.filter(payment=started, kind="anomaly:amount_mismatch").exists()
    assert not JournalEntry.objects.filter(kind="payment_succeeded").exists()


def test_a_notification_for_an_unknown_payment_is_refused(client: Client, started: Payment) -> None:
    started.public_id = "00000000-0000-0000-0000-000000000000"  # type: ignore[assignment]
    assert _notify(client, started, "succeeded") == 400


def test_an_unreachable_platform_gets_the_notification_again_later(
    client: Client, started: Payment, monkeypatch: pytest.MonkeyPatch, run_tasks: RunTasks
) -> None:
    import httpx

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectTimeout("timed out", request=request)

    monkeypatch.setattr(server, "http_transport", httpx.MockTransport(refuse))
    client.post(_page(started), {"payer_method": "card", "outcome": "succeed"})
    run_tasks()
    notification = SandboxNotification.objects.get()
    assert notification.attempts == 1
    assert "ConnectTimeout" in notification.last_error
    started.refresh_from_db()
    assert started.status == PaymentStatus.STARTED

    working = DjangoClientTransport()
    monkeypatch.setattr(server, "http_transport", working)
    with clock.frozen(clock.now() + dt.timedelta(seconds=11)):
        run_tasks()
    started.refresh_from_db()
    assert started.status == PaymentStatus.SUCCEEDED
    assert SandboxNotification.objects.get().attempts == 2


def test_an_oversized_notification_is_refused_unread(client: Client, started: Payment) -> None:
    response = client.post(
        "/providers/sandbox/notify/", data=b"x" * (64 * 1024 + 1), content_type="application/json"
    )
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"
    started.refresh_from_db()
    assert started.status == PaymentStatus.STARTED


def test_notifications_for_an_unknown_provider_are_refused(client: Client, db: None) -> None:
    response = client.post(
        "/providers/nowhere/notify/", data=b"{}", content_type="application/json"
    )
    assert response.status_code == 422
    assert response.json()["code"] == "unknown_provider"


@pytest.mark.parametrize("method", ["wero", "giropay", "sepa_debit"])
def test_the_page_offers_and_preselects_the_method_the_payment_started_with(
    client: Client, org: Organisation, department: Department, budget_line: BudgetLine, method: str
) -> None:
    payment = factories.payment(
        org, factories.receivable(org, department, budget_line, 1000), method=method
    )
    services.start_payment(payment=payment, actor=factories.ACTOR)
    payment.refresh_from_db()
    html = client.get(_page(payment)).content.decode()
    assert f'value="{method}"' in html
    form = client.get(_page(payment)).context["form"]
    assert form["payer_method"].value() == method
    client.post(_page(payment), {"payer_method": method, "outcome": "succeed"})
    assert server.find(reference=payment.provider_reference).payer_method == method  # type: ignore[union-attr]
