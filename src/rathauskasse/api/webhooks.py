"""Webhooks to integrators: fan-out of recorded events, signed delivery, retries, replay.

Invariants kept here:
- a delivery is created, and its task enqueued, in the transaction that recorded the event
  (`events.event_recorded`), so an event that committed is delivered at least once;
- the body is signed with HMAC-SHA256 over "<timestamp>.<body>" with the endpoint's secret, in
  `Rathauskasse-Signature: t=<unix time>,v1=<hex>`; receivers check it and the age of `t`;
- a failed try is retried after 1 min, 5 min, 1 h, 6 h and 1 day, then given up; every try is
  recorded; a delivery can be replayed from the admin.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import time

import httpx
from django.db import transaction

from rathauskasse.api.models import DeliveryState, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from rathauskasse.core import clock
from rathauskasse.core.tasks import enqueue
from rathauskasse.events.models import Event

RETRY_DELAYS = (
    dt.timedelta(minutes=1),
    dt.timedelta(minutes=5),
    dt.timedelta(hours=1),
    dt.timedelta(hours=6),
    dt.timedelta(days=1),
)
TIMEOUT_SECONDS = 10
#: Tests route deliveries through this (no network); production leaves it None.
http_transport: httpx.BaseTransport | None = None


def sign(body: bytes, *, secret: str, timestamp: int) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def body_of(event: Event) -> bytes:
    return json.dumps(
        {
            "id": event.pk,
            "type": event.type,
            "created_at": event.created_at.isoformat(),
            "data": event.data,
        },
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode()


def on_event_recorded(*, event_id: int, organisation_id: int, type: str, **_: object) -> None:  # noqa: A002
    """Receiver of `events.event_recorded`: one delivery per interested endpoint."""
    endpoints = [
        e
        for e in WebhookEndpoint.objects.filter(organisation_id=organisation_id, is_active=True)
        if e.wants(type)
    ]
    now = clock.now()
    for endpoint in endpoints:
        delivery = WebhookDelivery.objects.create(
            endpoint=endpoint, event_id=event_id, created_at=now, next_attempt_at=now
        )
        _schedule(delivery.pk)


def _schedule(delivery_id: int, run_after: dt.datetime | None = None) -> None:
    from rathauskasse.api import tasks  # noqa: PLC0415 - tasks import this module

    enqueue(tasks.deliver_webhook, delivery_id, run_after=run_after)


def deliver(delivery_id: int) -> str:
    """One try; on failure the next one is scheduled, after the last the delivery is given up."""
    delivery = WebhookDelivery.objects.select_related("endpoint", "event").get(pk=delivery_id)
    if delivery.state != DeliveryState.PENDING:
        return str(delivery.state)
    body = body_of(delivery.event)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Rathauskasse-Webhooks/1",
        "Rathauskasse-Event-Id": str(delivery.event_id),
        "Rathauskasse-Event-Type": delivery.event.type,
        "Rathauskasse-Signature": sign(
            body, secret=delivery.endpoint.secret, timestamp=int(clock.now().timestamp())
        ),
    }
    started = time.monotonic()
    status_code: int | None = None
    error = ""
    try:
        with httpx.Client(transport=http_transport, timeout=TIMEOUT_SECONDS) as client:
            status_code = client.post(
                delivery.endpoint.url, content=body, headers=headers
            ).status_code
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}"[:300]
    duration = int((time.monotonic() - started) * 1000)
    ok = status_code is not None and 200 <= status_code < 300
    if not ok and not error:
        error = f"HTTP {status_code}"
    now = clock.now()
    with transaction.atomic():
        WebhookAttempt.objects.create(
            delivery=delivery,
            at=now,
            status_code=status_code,
            error="" if ok else error,
            duration_ms=duration,
        )
        delivery.attempts += 1
        if ok:
            delivery.state, delivery.delivered_at, delivery.next_attempt_at = (
                DeliveryState.DELIVERED,
                now,
                None,
            )
        elif delivery.attempts > len(RETRY_DELAYS):
            delivery.state, delivery.next_attempt_at = DeliveryState.FAILED, None
        else:
            delivery.next_attempt_at = now + RETRY_DELAYS[delivery.attempts - 1]
            _schedule(delivery.pk, run_after=delivery.next_attempt_at)
        delivery.save(update_fields=["state", "attempts", "next_attempt_at", "delivered_at"])
    return str(delivery.state)


@transaction.atomic
def replay(delivery: WebhookDelivery) -> None:
    """Deliver again (from the admin), whatever happened before; tries so far are kept."""
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        state=DeliveryState.PENDING, attempts=0, next_attempt_at=clock.now()
    )
    _schedule(delivery.pk)
