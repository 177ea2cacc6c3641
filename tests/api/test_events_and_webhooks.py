"""Events feed, refunds, and signed webhooks delivered at least once."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from django.test import Client
from tests import factories
from tests.api.test_v1 import call, make_key

from rathauskasse.api import webhooks
from rathauskasse.api.models import DeliveryState, WebhookDelivery, WebhookEndpoint
from rathauskasse.core import clock
from rathauskasse.events.models import Event
from rathauskasse.organisations.models import BudgetLine, Department, Organisation
from rathauskasse.payments import services as payments
from rathauskasse.payments.models import Payment
from rathauskasse.receivables.models import Receivable

pytestmark = pytest.mark.django_db


@pytest.fixture
def paid(org: Organisation, department: Department, budget_line: BudgetLine) -> Payment:
    from rathauskasse.providers.sandbox import server

    receivable = factories.receivable(org, department, budget_line, 5000)
    payment = factories.payment(org, receivable)
    payments.start_payment(payment=payment, actor=factories.ACTOR)
    payment.refresh_from_db()
    server.decide(
        reference=payment.provider_reference, outcome=server.Outcome.SUCCEED, payer_method="card"
    )
    return payments.sync_payment(payment=payment)


def test_changes_write_events_in_their_transaction(paid: Payment) -> None:
    types = list(Event.objects.order_by("id").values_list("type", flat=True))
    assert types == ["payment.succeeded", "receivable.paid"]
    first = Event.objects.order_by("id").first()
    assert first is not None
    assert first.data["payment"] == str(paid.public_id)


def test_the_feed_pages_by_id(client: Client, org: Organisation, paid: Payment) -> None:
    token = make_key(org)
    page = call(client, "get", "/api/v1/events?limit=1", token).json()
    assert [e["type"] for e in page["data"]] == ["payment.succeeded"]
    assert page["has_more"] is True
    rest = call(client, "get", f"/api/v1/events?after={page['next_cursor']}", token).json()
    assert [e["type"] for e in rest["data"]] == ["receivable.paid"]
    assert rest["has_more"] is False
    done = call(client, "get", f"/api/v1/events?after={rest['next_cursor']}", token).json()
    assert done["data"] == []
    assert done["next_cursor"] == rest["next_cursor"]
    stranger = make_key(factories.organisation())
    assert call(client, "get", "/api/v1/events", stranger).json()["data"] == []


def test_refund_through_the_api(client: Client, org: Organisation, paid: Payment) -> None:
    token = make_key(org)
    body = {"payment": str(paid.public_id), "amount_cents": 2000, "reason": "Doppelt gezahlt"}
    response = call(client, "post", "/api/v1/refunds", token, body)
    assert response.status_code == 201, response.content
    refund = response.json()
    assert refund["status"] == "succeeded"
    assert refund["amount_cents"] == 2000
    assert call(client, "get", f"/api/v1/refunds/{refund['id']}", token).json() == refund
    too_much = call(client, "post", "/api/v1/refunds", token, {**body, "amount_cents": 9999})
    assert too_much.status_code == 422
    assert too_much.json()["code"] == "refund_refused"
    assert Event.objects.filter(type="refund.succeeded").count() == 1
    receivable = Receivable.objects.get()
    assert receivable.status == "open"  # 20,00 € are owed again


class Receiver:
    """A webhook receiver double: answers with the given statuses in turn, records requests."""

    def __init__(self, *statuses: int) -> None:
        self.statuses = list(statuses)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(self.statuses.pop(0) if self.statuses else 200)


def subscribe(org: Organisation, **fields: Any) -> WebhookEndpoint:
    return WebhookEndpoint.objects.create(
        organisation=org, url="https://fachverfahren.example/hooks", **fields
    )


def test_a_signed_webhook_reaches_the_integrator(
    org: Organisation,
    department: Department,
    budget_line: BudgetLine,
    monkeypatch: pytest.MonkeyPatch,
    run_tasks: Callable[[], list[str]],
) -> None:
    endpoint = subscribe(org, events=["payment.succeeded"])
    receiver = Receiver(200)
    monkeypatch.setattr(webhooks, "http_transport", httpx.MockTransport(receiver))
    receivable = factories.receivable(org, department, budget_line, 5000)
    payments.confirm_payment(
        payment=factories.payment(org, receivable),
        source=payments.EventSource.POLL,
        actor=factories.ACTOR,
    )
    run_tasks()
    assert len(receiver.requests) == 1  # receivable.paid is not subscribed
    request = receiver.requests[0]
    body = request.content
    assert json.loads(body)["type"] == "payment.succeeded"
    stamp, signature = (
        part.split("=", 1)[1] for part in request.headers["Rathauskasse-Signature"].split(",")
    )
    expected = hmac.new(endpoint.secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256)
    assert hmac.compare_digest(signature, expected.hexdigest())
    delivery = WebhookDelivery.objects.get()
    assert delivery.state == DeliveryState.DELIVERED
    assert delivery.tries.get().status_code == 200


def test_failed_deliveries_are_retried_with_growing_delays_then_given_up(
    org: Organisation,
    paid: Payment,
    monkeypatch: pytest.MonkeyPatch,
    run_tasks: Callable[[], list[str]],
) -> None:
    subscribe(org)
    receiver = Receiver(*[500] * 12)
    monkeypatch.setattr(webhooks, "http_transport", httpx.MockTransport(receiver))
    refund = payments.refund_payment(
        actor=factories.ACTOR, payment=paid, amount_cents=100, reason="Test"
    )
    assert refund.status == "succeeded"
    start = clock.now()
    run_tasks()  # the first try of the refund event fails
    delivery = WebhookDelivery.objects.get()
    assert delivery.attempts == 1
    assert delivery.next_attempt_at is not None
    assert delivery.next_attempt_at - start >= dt.timedelta(minutes=1)
    gaps = []
    for _ in range(6):
        due = WebhookDelivery.objects.get().next_attempt_at
        if due is None:
            break
        gaps.append(due)
        with clock.frozen(due + dt.timedelta(seconds=1)):
            run_tasks()
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.FAILED
    assert delivery.attempts == 6
    assert delivery.tries.count() == 6
    assert all(t.status_code == 500 for t in delivery.tries.all())

    receiver.statuses = [204]
    webhooks.replay(delivery)
    run_tasks()
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.DELIVERED
    assert delivery.tries.count() == 7


def test_an_unreachable_endpoint_is_recorded(
    org: Organisation,
    department: Department,
    budget_line: BudgetLine,
    monkeypatch: pytest.MonkeyPatch,
    run_tasks: Callable[[], list[str]],
) -> None:
    subscribe(org, events=["receivable.cancelled"])

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("Verbindung abgelehnt", request=request)

    monkeypatch.setattr(webhooks, "http_transport", httpx.MockTransport(refuse))
    from rathauskasse.receivables.services import cancel_receivable

    receivable = factories.receivable(org, department, budget_line, 5000)
    cancel_receivable(actor=factories.ACTOR, receivable=receivable, reason="Irrtum")
    run_tasks()
    attempt = WebhookDelivery.objects.get().tries.get()
    assert attempt.status_code is None
    assert "ConnectError" in attempt.error


def test_a_payment_without_webhooks_reads_no_endpoints(
    org: Organisation, department: Department, budget_line: BudgetLine
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    receivable = factories.receivable(org, department, budget_line, 5000)
    payment = factories.payment(org, receivable)
    with CaptureQueriesContext(connection) as queries:
        payments.confirm_payment(
            payment=payment, source=payments.EventSource.POLL, actor=factories.ACTOR
        )
    reads = [q["sql"] for q in queries if q["sql"].lstrip().upper().startswith("SELECT")]
    assert not [sql for sql in reads if "api_webhookendpoint" in sql]
    inserts = [q["sql"] for q in queries if "events_event" in q["sql"]]
    assert len(inserts) == 1  # the payment's and the receivable's event in one statement
