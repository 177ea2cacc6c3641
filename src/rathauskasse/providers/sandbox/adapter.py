"""The sandbox provider as the payments domain sees it: the provider contract, nothing more.

It talks to the simulated payment service (`server`) the way a real adapter talks to its
provider's API, and verifies notifications by their HMAC signature and timestamp.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.urls import reverse

from rathauskasse.core import clock
from rathauskasse.payments.contract import (
    Capabilities,
    InvalidNotification,
    Notification,
    PayoutItem,
    PayoutReport,
    ProviderState,
    RefundRequest,
    RefundResult,
    StartRequest,
    StartResult,
    StatusReport,
)
from rathauskasse.providers.sandbox import server
from rathauskasse.providers.sandbox.models import SandboxTransaction

#: Notifications older than this are replays and are refused.
TOLERANCE_SECONDS = 300


class SandboxProvider:
    identifier = "sandbox"
    name = "Testzahlung (Sandbox)"
    capabilities = Capabilities(
        methods=frozenset({"card", "paypal", "sepa_debit", "wero", "giropay"}),
        refunds=True,
        partial_refunds=True,
        test_only=True,
    )

    def __init__(self, *, secret: str) -> None:
        self._secret = secret

    def start(self, request: StartRequest) -> StartResult:
        txn = server.create_transaction(
            payment_reference=request.payment_reference,
            amount_cents=request.amount_cents,
            description=request.description,
            method=request.method,
            return_url=request.return_url,
            notify_url=request.notify_url,
            expires_at=request.expires_at,
        )
        return StartResult(
            provider_reference=txn.reference,
            redirect_url=settings.SITE_URL + reverse("sandbox:pay", args=[txn.reference]),
        )

    def parse_notification(self, notification: Notification) -> StatusReport:
        headers = {k.lower(): v for k, v in notification.headers.items()}
        signature = headers.get(server.SIGNATURE_HEADER.lower(), "")
        parts = dict(part.split("=", 1) for part in signature.split(",") if "=" in part)
        try:
            timestamp = int(parts.get("t", ""))
        except ValueError:
            raise InvalidNotification("missing or malformed signature header") from None
        expected = server.sign(notification.body, timestamp=timestamp, secret=self._secret)
        if not hmac.compare_digest(expected, f"t={timestamp},v1={parts.get('v1', '')}"):
            raise InvalidNotification("signature does not match")
        if abs(clock.now().timestamp() - timestamp) > TOLERANCE_SECONDS:
            raise InvalidNotification("notification is too old (replay)")
        try:
            payload: Any = json.loads(notification.body)
            data: Mapping[str, Any] = payload["data"]
            return StatusReport(
                provider_reference=str(data["reference"]),
                payment_reference=str(data["payment_reference"]),
                state=ProviderState(data["state"]),
                amount_cents=int(data["amount_cents"]),
                event_id=str(payload["id"]),
                method=str(data.get("method", "")),
                failure_reason=str(data.get("failure_reason", "")),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise InvalidNotification(f"malformed body: {exc}") from None

    def poll(
        self,
        *,
        payment_reference: str,
        provider_reference: str = "",
        organisation_id: int | None = None,
    ) -> StatusReport | None:
        # One sandbox serves every organisation: the payment reference alone finds it.
        txn = server.find(reference=provider_reference, payment_reference=payment_reference)
        return None if txn is None else _report(txn)

    def cancel(self, *, provider_reference: str) -> StatusReport:
        return _report(server.cancel(reference=provider_reference))

    def refund(self, request: RefundRequest) -> RefundResult:
        try:
            refund = server.refund(
                reference=request.provider_reference,
                refund_reference=request.refund_reference,
                amount_cents=request.amount_cents,
            )
        except server.SandboxError as exc:
            return RefundResult(succeeded=False, failure_reason=str(exc))
        return RefundResult(succeeded=True, provider_refund_reference=refund.reference)

    def payout(self, *, reference: str, organisation_id: int | None = None) -> PayoutReport | None:
        # One sandbox pays out for every organisation; the payments domain checks that all
        # payments of a payout are the organisation's.
        payout = server.find_payout(reference)
        if payout is None:
            return None
        items = payout.items.select_related("transaction").order_by("id")
        return PayoutReport(
            reference=payout.reference,
            amount_cents=payout.amount_cents,
            fee_cents=payout.fee_cents,
            items=tuple(
                PayoutItem(
                    payment_reference=item.transaction.payment_reference,
                    provider_reference=item.transaction.reference,
                    amount_cents=item.amount_cents,
                    fee_cents=item.fee_cents,
                )
                for item in items
            ),
            paid_out_on=payout.created_at.astimezone(clock.BERLIN).date(),
        )


def _report(txn: SandboxTransaction) -> StatusReport:
    return StatusReport(
        provider_reference=txn.reference,
        payment_reference=txn.payment_reference,
        state=ProviderState(txn.state),
        amount_cents=txn.amount_cents,
        event_id=f"{txn.reference}:{txn.event_seq}",
        method=txn.payer_method or txn.method,
        failure_reason=txn.failure_reason,
    )


def build_provider() -> SandboxProvider:
    return SandboxProvider(secret=settings.SANDBOX_WEBHOOK_SECRET)
