"""The simulated payment service behind the sandbox: its hosted page's decisions, status, refunds
and signed notifications, as a real provider runs them on its own servers.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import secrets
from enum import StrEnum

import httpx
from django.conf import settings
from django.db import transaction

from rathauskasse.core import clock
from rathauskasse.core.tasks import enqueue
from rathauskasse.providers.sandbox.models import (
    SandboxNotification,
    SandboxPayout,
    SandboxPayoutItem,
    SandboxRefund,
    SandboxState,
    SandboxTransaction,
)

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "Sandbox-Signature"
#: Delays between delivery attempts of a notification, as real providers retry.
RETRY_DELAYS = (
    dt.timedelta(seconds=10),
    dt.timedelta(minutes=1),
    dt.timedelta(minutes=5),
    dt.timedelta(minutes=30),
    dt.timedelta(hours=2),
)
#: The HTTP transport for notifications; tests point it at the app in-process.
http_transport: httpx.BaseTransport | None = None


class Outcome(StrEnum):
    SUCCEED = "succeed"
    DECLINE = "decline"
    CANCEL = "cancel"
    PENDING_SUCCEED = "pending_succeed"
    PENDING_FAIL = "pending_fail"


OUTCOME_LABELS = {
    Outcome.SUCCEED: "Zahlung gelingt",
    Outcome.DECLINE: "Zahlung wird abgelehnt",
    Outcome.CANCEL: "Zahlende brechen ab",
    Outcome.PENDING_SUCCEED: "bleibt in Bearbeitung, gelingt später",
    Outcome.PENDING_FAIL: "bleibt in Bearbeitung, scheitert später",
}

PAYER_METHODS = {
    "card": "Kreditkarte",
    "paypal": "PayPal",
    "sepa_debit": "SEPA-Lastschrift",
    "wero": "Wero",
    "giropay": "giropay",
}


class SandboxError(Exception):
    pass


def sign(body: bytes, *, timestamp: int, secret: str) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


@transaction.atomic
def create_transaction(
    *,
    payment_reference: str,
    amount_cents: int,
    description: str,
    method: str,
    return_url: str,
    notify_url: str,
    expires_at: dt.datetime,
) -> SandboxTransaction:
    """Register a payment; the same payment reference again returns the same transaction."""
    existing = SandboxTransaction.objects.filter(payment_reference=payment_reference).first()
    if existing is not None:
        return existing
    return SandboxTransaction.objects.create(
        reference="sbx_" + secrets.token_hex(12),
        payment_reference=payment_reference,
        amount_cents=amount_cents,
        description=description,
        method=method,
        return_url=return_url,
        notify_url=notify_url,
        created_at=clock.now(),
        expires_at=expires_at,
    )


def find(*, reference: str = "", payment_reference: str = "") -> SandboxTransaction | None:
    txn = None
    if reference:
        txn = SandboxTransaction.objects.filter(reference=reference).first()
    if txn is None and payment_reference:
        txn = SandboxTransaction.objects.filter(payment_reference=payment_reference).first()
    if txn is not None and txn.state == SandboxState.STARTED and clock.now() >= txn.expires_at:
        txn = _set_state(txn.pk, SandboxState.EXPIRED)
    return txn


@transaction.atomic
def _set_state(
    txn_id: int, state: SandboxState, *, failure_reason: str = "", pending_outcome: str = ""
) -> SandboxTransaction:
    txn = SandboxTransaction.objects.select_for_update().get(pk=txn_id)
    if txn.state == state:
        return txn
    txn.state = state
    txn.failure_reason = failure_reason
    txn.pending_outcome = pending_outcome
    txn.decided_at = clock.now()
    txn.event_seq += 1
    txn.save()
    notification = SandboxNotification.objects.create(
        transaction=txn, seq=txn.event_seq, state=state, created_at=clock.now()
    )
    from rathauskasse.providers.sandbox import tasks  # noqa: PLC0415 - tasks import this module

    enqueue(tasks.deliver_notification, notification.pk)
    if state == SandboxState.PENDING:
        enqueue(
            tasks.settle_pending,
            txn.reference,
            run_after=clock.now() + dt.timedelta(seconds=settings.SANDBOX_PENDING_SECONDS),
        )
    return txn


def decide(*, reference: str, outcome: Outcome, payer_method: str) -> SandboxTransaction:
    """The payer's choice on the hosted page."""
    txn = find(reference=reference)
    if txn is None:
        raise SandboxError("unknown transaction")
    if txn.state != SandboxState.STARTED:
        raise SandboxError("transaction is already decided")
    SandboxTransaction.objects.filter(pk=txn.pk).update(payer_method=payer_method)
    if outcome == Outcome.SUCCEED:
        return _set_state(txn.pk, SandboxState.SUCCEEDED)
    if outcome == Outcome.DECLINE:
        return _set_state(txn.pk, SandboxState.FAILED, failure_reason="declined")
    if outcome == Outcome.CANCEL:
        return _set_state(txn.pk, SandboxState.CANCELLED)
    later = "succeed" if outcome == Outcome.PENDING_SUCCEED else "fail"
    return _set_state(txn.pk, SandboxState.PENDING, pending_outcome=later)


def settle(*, reference: str) -> SandboxTransaction:
    """Decide a pending transaction the way the payer asked for at the start."""
    txn = find(reference=reference)
    if txn is None or txn.state != SandboxState.PENDING:
        raise SandboxError("transaction is not pending")
    if txn.pending_outcome == "succeed":
        return _set_state(txn.pk, SandboxState.SUCCEEDED)
    return _set_state(txn.pk, SandboxState.FAILED, failure_reason="debit_returned")


def cancel(*, reference: str) -> SandboxTransaction:
    txn = find(reference=reference)
    if txn is None:
        raise SandboxError("unknown transaction")
    if txn.state == SandboxState.STARTED:
        return _set_state(txn.pk, SandboxState.CANCELLED)
    return txn


@transaction.atomic
def refund(*, reference: str, refund_reference: str, amount_cents: int) -> SandboxRefund:
    """Refund once per refund reference; more than is left is refused."""
    existing = SandboxRefund.objects.filter(refund_reference=refund_reference).first()
    if existing is not None:
        return existing
    txn = SandboxTransaction.objects.select_for_update().filter(reference=reference).first()
    if txn is None or txn.state != SandboxState.SUCCEEDED:
        raise SandboxError("only succeeded transactions can be refunded")
    if amount_cents <= 0 or txn.refunded_cents + amount_cents > txn.amount_cents:
        raise SandboxError("refund exceeds the amount paid")
    txn.refunded_cents += amount_cents
    txn.save(update_fields=["refunded_cents"])
    return SandboxRefund.objects.create(
        transaction=txn,
        refund_reference=refund_reference,
        reference="sbr_" + secrets.token_hex(12),
        amount_cents=amount_cents,
        created_at=clock.now(),
    )


def notification_body(notification: SandboxNotification) -> bytes:
    txn = notification.transaction
    payload = {
        "id": notification.event_id,
        "type": "payment.updated",
        "created": int(notification.created_at.timestamp()),
        "data": {
            "reference": txn.reference,
            "payment_reference": txn.payment_reference,
            "state": notification.state,
            "amount_cents": txn.amount_cents,
            "currency": "EUR",
            "method": txn.payer_method or txn.method,
            "failure_reason": txn.failure_reason
            if notification.state == SandboxState.FAILED
            else "",
        },
    }
    return json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()


def deliver(notification_id: int) -> bool:
    """POST one signed notification; on failure schedule the next attempt. True when delivered."""
    notification = SandboxNotification.objects.select_related("transaction").get(pk=notification_id)
    if notification.delivered_at is not None:
        return True
    body = notification_body(notification)
    timestamp = int(clock.now().timestamp())
    headers = {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: sign(body, timestamp=timestamp, secret=settings.SANDBOX_WEBHOOK_SECRET),
    }
    error = ""
    try:
        with httpx.Client(transport=http_transport, timeout=10.0) as client:
            response = client.post(
                notification.transaction.notify_url, content=body, headers=headers
            )
        if not response.is_success:
            error = f"HTTP {response.status_code}"
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}"[:300]
    attempts = notification.attempts + 1
    with transaction.atomic():
        if not error:
            SandboxNotification.objects.filter(pk=notification.pk).update(
                attempts=attempts, delivered_at=clock.now(), last_error=""
            )
            return True
        SandboxNotification.objects.filter(pk=notification.pk).update(
            attempts=attempts, last_error=error
        )
        if attempts <= len(RETRY_DELAYS):
            from rathauskasse.providers.sandbox import tasks  # noqa: PLC0415

            enqueue(
                tasks.deliver_notification,
                notification.pk,
                run_after=clock.now() + RETRY_DELAYS[attempts - 1],
            )
    logger.warning("sandbox notification %s not delivered: %s", notification.event_id, error)
    return False


# --- payouts -------------------------------------------------------------------------------------


@transaction.atomic
def create_payout(
    *, payment_references: list[str] | None = None, fee_cents_per_payment: int = 0
) -> SandboxPayout | None:
    """Pay out the succeeded transactions not paid out yet (or those of the payment references),
    what is left of them after refunds, less a fee per payment; None when there is nothing.

    The reference (`PAYOUT-…`) is what the bank transfer's remittance text carries.
    """
    if fee_cents_per_payment < 0:
        raise SandboxError("fees cannot be negative")
    due = (
        SandboxTransaction.objects.select_for_update()
        .filter(state=SandboxState.SUCCEEDED)
        .exclude(pk__in=SandboxPayoutItem.objects.values("transaction_id"))
    )
    if payment_references is not None:
        due = due.filter(payment_reference__in=payment_references)
    items = [
        (txn, txn.amount_cents - txn.refunded_cents)
        for txn in due.order_by("id")
        if txn.amount_cents - txn.refunded_cents > fee_cents_per_payment
    ]
    if not items:
        return None
    gross = sum(cents for _, cents in items)
    payout = SandboxPayout.objects.create(
        reference="PAYOUT-" + secrets.token_hex(6).upper(),
        amount_cents=gross - fee_cents_per_payment * len(items),
        fee_cents=fee_cents_per_payment * len(items),
        created_at=clock.now(),
    )
    SandboxPayoutItem.objects.bulk_create(
        [
            SandboxPayoutItem(
                payout=payout, transaction=txn, amount_cents=cents, fee_cents=fee_cents_per_payment
            )
            for txn, cents in items
        ]
    )
    return payout


def find_payout(reference: str) -> SandboxPayout | None:
    return SandboxPayout.objects.filter(reference=reference).first()


PAYOUT_REPORT_COLUMNS = (
    "payout_reference",
    "paid_out_at",
    "transaction_reference",
    "payment_reference",
    "amount_cents",
    "fee_cents",
    "net_cents",
)


def payout_report(payout: SandboxPayout) -> dict[str, object]:
    """The payout report as the sandbox's API would return it (JSON)."""
    return {
        "reference": payout.reference,
        "paid_out_at": payout.created_at.isoformat(),
        "currency": "EUR",
        "amount_cents": payout.amount_cents,
        "fee_cents": payout.fee_cents,
        "items": [
            {
                "transaction_reference": item.transaction.reference,
                "payment_reference": item.transaction.payment_reference,
                "amount_cents": item.amount_cents,
                "fee_cents": item.fee_cents,
            }
            for item in payout.items.select_related("transaction").order_by("id")
        ],
    }


def payout_report_csv(payout: SandboxPayout) -> str:
    """The same report as CSV, one row per payment (what a provider's dashboard downloads)."""
    report = payout_report(payout)
    rows = [";".join(PAYOUT_REPORT_COLUMNS)]
    items = report["items"]
    assert isinstance(items, list)
    rows.extend(
        ";".join(
            str(value)
            for value in (
                report["reference"],
                report["paid_out_at"],
                item["transaction_reference"],
                item["payment_reference"],
                item["amount_cents"],
                item["fee_cents"],
                item["amount_cents"] - item["fee_cents"],
            )
        )
        for item in items
    )
    return "\r\n".join(rows) + "\r\n"
