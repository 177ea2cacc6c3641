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
from typing import Any

import httpx
from django.db import connection, transaction

from rathauskasse.api.models import DeliveryState, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from rathauskasse.core import clock, sql
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


def _endpoints(organisation_id: int) -> list[tuple[int, list[str]]]:
    """The organisation's active endpoints and their event lists, read once per transaction.

    A payment records several events in one transaction; the endpoints are read for the first
    and remembered on the connection for the rest (keyed by the transaction's outermost atomic
    block, so the next transaction reads afresh).
    """
    blocks = connection.atomic_blocks
    memo: dict[str, Any] = getattr(connection, "_rk_webhook_memo", {})
    if blocks and memo.get("block") is blocks[0] and organisation_id in memo["endpoints"]:
        found: list[tuple[int, list[str]]] = memo["endpoints"][organisation_id]
        return found
    rows = sql.select(
        WebhookEndpoint,
        ["id", "events"],
        where={"organisation_id": organisation_id, "is_active": True},
    )
    found = [(pk, json.loads(events) if isinstance(events, str) else events) for pk, events in rows]
    if blocks:
        if memo.get("block") is not blocks[0]:
            memo = {"block": blocks[0], "endpoints": {}}
        memo["endpoints"][organisation_id] = found
        connection._rk_webhook_memo = memo  # type: ignore[attr-defined]
    return found


def forget_endpoints(**_: object) -> None:
    """Receiver of WebhookEndpoint saves and deletes: the next event reads the endpoints again."""
    connection._rk_webhook_memo = {}  # type: ignore[attr-defined]


#: Counted in the event's own INSERT (see `events.services.register_subscriber_probe`).
SUBSCRIBER_PROBE = (
    "(SELECT COUNT(*) FROM api_webhookendpoint w "
    "WHERE w.organisation_id = events_event.organisation_id AND w.is_active)"
)


def on_event_recorded(
    *,
    event_id: int,
    organisation_id: int,
    type: str,  # noqa: A002
    subscribers: int | None = None,
    **_: object,
) -> None:
    """Receiver of `events.event_recorded`: one delivery per interested endpoint.

    It runs inside every payment's transaction, so it reads with one cached plain SELECT per
    transaction and writes nothing when the organisation has no webhooks.
    """
    if subscribers == 0:
        return  # no webhooks in this organisation: nothing to read
    now = clock.now()
    for endpoint_id, wanted in _endpoints(organisation_id):
        if wanted and type not in wanted:
            continue
        delivery_id = sql.insert(
            WebhookDelivery,
            {
                "endpoint_id": endpoint_id,
                "event_id": event_id,
                "state": DeliveryState.PENDING,
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            },
        )
        _schedule(delivery_id)


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
