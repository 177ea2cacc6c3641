"""The XBezahldienste provider as the payments domain sees it: the contract, nothing more.

One provider for every external service that speaks XBezahldienste v1.0.0 (ePayBL, pmPayment,
epay21, GiroCheckout, ...); which one a payment goes to is the configuration of its organisation
(`Connection`, the provider's own table, which the adapter only reads). What the standard lacks
shapes the capabilities: no notifications (the platform polls), no cancel (a stopped payment is
stopped here and watched for a late success), no refunds.

`provider_reference` is `"<connection id>:<transactionId>"`, so that a poll or cancel reaches
the service the payment was started at even after the organisation has switched services.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

import httpx
from django.conf import settings

from rathauskasse.core import clock
from rathauskasse.core.money import InvalidAmount, Money
from rathauskasse.payments.contract import (
    BookingKey,
    Capabilities,
    InvalidNotification,
    Notification,
    ProviderRefused,
    ProviderState,
    ProviderUnavailable,
    RefundRequest,
    RefundResult,
    StartItem,
    StartRequest,
    StartResult,
    StatusReport,
)
from rathauskasse.providers.xbezahldienste import texts
from rathauskasse.providers.xbezahldienste.client import Client, Status, Transaction
from rathauskasse.providers.xbezahldienste.models import METHODS, Connection

logger = logging.getLogger(__name__)

MAX_ITEMS = 99
#: The longest address the platform stores for the payer's way to the service.
MAX_REDIRECT_URL = 1000
MAX_RETURN_URL = 2082
ZERO = Decimal("0.00")

STATES = {
    Status.INITIAL: ProviderState.STARTED,
    Status.PAYED: ProviderState.SUCCEEDED,
    Status.FAILED: ProviderState.FAILED,
    Status.CANCELED: ProviderState.CANCELLED,
}
#: The service's `paymentMethod` as our payment method ("" when it does not say).
METHODS_BACK = {
    "CREDITCARD": "card",
    "PAYPAL": "paypal",
    "GIROPAY": "giropay",
    "PAYDIRECT": "giropay",  # paydirekt, today giropay; our method "giropay / paydirekt"
}


class XBezahldiensteProvider:
    identifier = "xbezahldienste"
    name = "Bezahldienst nach XBezahldienste"
    capabilities = Capabilities(
        methods=frozenset(str(method) for method in METHODS),
        refunds=False,
        partial_refunds=False,
        notifies=False,
    )

    def __init__(
        self,
        *,
        transport: httpx.BaseTransport | None = None,
        attempts: int = 2,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        #: Tests put an `httpx.MockTransport` here; None is real HTTP (TLS from the connection).
        self.transport = transport
        self._attempts = attempts
        self._sleep = sleep

    def _client(self, connection: Connection) -> Client:
        try:
            config = connection.config()
        except OSError as exc:  # the certificate file on the server cannot be read
            logger.error("xbezahldienste connection %s: %s", connection.pk, exc)
            raise ProviderUnavailable(
                f"connection {connection.pk}: certificate unreadable"
            ) from None
        return Client(
            config,
            transport=self.transport,
            attempts=self._attempts,
            sleep=self._sleep,
        )

    # --- the contract -----------------------------------------------------------------------

    def start(self, request: StartRequest) -> StartResult:
        connection = Connection.objects.filter(
            organisation_id=request.organisation_id, enabled=True
        ).first()
        if connection is None:
            raise ProviderRefused(
                "no XBezahldienste connection",
                code="NO_CONNECTION",
                detail="keine aktive Verbindung",
            )
        if request.method not in connection.methods:
            raise ProviderRefused(
                "method not offered", code="METHOD_NOT_OFFERED", detail=request.method
            )
        body = payment_request(request, booking_keys=connection.booking_keys())
        transaction = self._client(connection).create(body)
        _same_payment(transaction, request)
        if transaction.status != Status.INITIAL:
            # Already decided there (a repeated start after a lost answer): the return page
            # asks for the outcome and shows it.
            redirect_url = request.return_url
        elif not transaction.redirect_url:
            raise ProviderUnavailable(f"{transaction.transaction_id}: no transactionRedirectUrl")
        else:
            redirect_url = _checked_redirect(transaction.redirect_url)
        return StartResult(
            provider_reference=reference_of(connection.pk, transaction.transaction_id),
            redirect_url=redirect_url,
        )

    def parse_notification(self, notification: Notification) -> StatusReport:
        raise InvalidNotification("XBezahldienste has no notifications; payments are polled")

    def poll(
        self,
        *,
        payment_reference: str,
        provider_reference: str = "",
        organisation_id: int | None = None,
    ) -> StatusReport | None:
        if provider_reference:
            connection_id, transaction_id = parse_reference(provider_reference)
            connection = Connection.objects.filter(pk=connection_id).first()
            if connection is None:
                raise ProviderUnavailable(f"connection {connection_id} is gone")
        else:
            # The start answer was lost: ask the organisation's service by our requestId (our
            # own server finds it so; others echo the requestId as transactionId).
            if organisation_id is None:
                return None
            connection = Connection.objects.filter(
                organisation_id=organisation_id, enabled=True
            ).first()
            if connection is None:
                return None
            transaction_id = payment_reference
        try:
            transaction = self._client(connection).get(transaction_id)
        except ProviderRefused as exc:
            # Our configuration is wrong (credentials, ids): the payment is not decided by
            # that, so ask again later, when someone has fixed it.
            logger.error(
                "xbezahldienste connection %s: status of %s refused: %s %s",
                connection.pk,
                payment_reference,
                exc.code,
                exc.detail[:300],
            )
            raise ProviderUnavailable(f"status refused: {exc.code}") from exc
        if transaction is None:
            return None
        if payment_reference and transaction.request_id not in ("", payment_reference):
            logger.error(
                "xbezahldienste connection %s: %s belongs to request %s, not to %s",
                connection.pk,
                transaction.transaction_id,
                transaction.request_id,
                payment_reference,
            )
            raise ProviderUnavailable("the answer is about another payment")
        return report_of(connection.pk, transaction, payment_reference)

    def cancel(self, *, provider_reference: str) -> StatusReport:
        """The standard has no cancel: report the current state. `started` (INITIAL) lets the
        platform stop the payment here; the payer could still pay there, which the platform
        then finds as a late success (an anomaly for the cash office)."""
        _, transaction_id = parse_reference(provider_reference)
        report = self.poll(payment_reference="", provider_reference=provider_reference)
        if report is None:
            raise ProviderUnavailable(f"transaction {transaction_id} is unknown to the service")
        return report

    def refund(self, request: RefundRequest) -> RefundResult:
        # Never called: the capabilities say no refunds, and the payments domain refuses first.
        return RefundResult(succeeded=False, failure_reason="XBezahldienste kennt keine Erstattung")


# --- references -----------------------------------------------------------------------------


def reference_of(connection_id: int, transaction_id: str) -> str:
    return f"{connection_id}:{transaction_id}"


def parse_reference(provider_reference: str) -> tuple[int, str]:
    connection_id, _, transaction_id = provider_reference.partition(":")
    if not connection_id.isdigit() or not transaction_id:
        raise ProviderUnavailable(f"malformed provider reference {provider_reference!r}")
    return int(connection_id), transaction_id


# --- the wire format ------------------------------------------------------------------------


def payment_request(
    request: StartRequest, *, booking_keys: Mapping[BookingKey, str]
) -> dict[str, Any]:
    """The PaymentRequest of XBezahldienste v1.0.0 for a start request."""
    if not texts.ID_PATTERN.fullmatch(request.payment_reference):
        raise ProviderRefused("requestId", code="INVALID_REQUEST", detail="requestId")
    if request.currency != "EUR":
        raise ProviderRefused("currency", code="INVALID_REQUEST", detail=request.currency)
    if not request.return_url or len(request.return_url) > MAX_RETURN_URL:
        raise ProviderRefused("redirectUrl", code="INVALID_REQUEST", detail="redirectUrl")
    items = fit_items(request.items)
    return {
        "requestId": request.payment_reference,
        "requestTimestamp": clock.now().isoformat(timespec="seconds").replace("+00:00", "Z"),
        "currency": "EUR",
        "grosAmount": Money(request.amount_cents).to_decimal(),
        "purpose": texts.purpose(request.description),
        "description": texts.description(request.description),
        "redirectUrl": request.return_url,
        "items": [_item(number, item, booking_keys) for number, item in enumerate(items, start=1)],
    }


def _item(number: int, item: StartItem, booking_keys: Mapping[BookingKey, str]) -> dict[str, Any]:
    amount = Money(item.amount_cents).to_decimal()
    booking: dict[str, str] = {}
    for column, wire_name in booking_keys.items():  # columns first: free data never overrides
        if wire_name and item.booking_data.get(column):
            booking[wire_name] = item.booking_data[column]
    fixed = {str(column) for column in BookingKey}
    for key, value in item.booking_data.items():
        if key not in fixed:
            booking.setdefault(key, value)
    # Public-law fees are outside VAT: net equals gross, tax 0 (see decision 0019).
    return {
        "id": str(number),
        "reference": texts.reference(item.reference),
        "description": texts.description(item.description),
        "taxRate": Decimal(0),
        "quantity": 1,
        "singleNetAmount": amount,
        "singleTaxAmount": ZERO,
        "totalNetAmount": amount,
        "totalTaxAmount": ZERO,
        "bookingData": booking,
    }


def fit_items(items: tuple[StartItem, ...]) -> tuple[StartItem, ...]:
    """At most 99 items: beyond that, items with the same booking data are added together."""
    if len(items) <= MAX_ITEMS:
        return items
    groups: dict[tuple[tuple[str, str], ...], list[StartItem]] = {}
    for item in items:
        groups.setdefault(tuple(sorted(item.booking_data.items())), []).append(item)
    if len(groups) > MAX_ITEMS:
        raise ProviderRefused(
            "too many items", code="TOO_MANY_ITEMS", detail=f"{len(groups)} Buchungsziele"
        )
    merged = []
    for members in groups.values():
        references = list(dict.fromkeys(item.reference for item in members))
        merged.append(
            StartItem(
                reference=references[0] if len(references) == 1 else "mehrere",
                description=f"{len(members)} Positionen: " + ", ".join(references),
                amount_cents=sum(item.amount_cents for item in members),
                booking_data=members[0].booking_data,
            )
        )
    return tuple(merged)


def report_of(connection_id: int, transaction: Transaction, payment_reference: str) -> StatusReport:
    try:
        amount_cents = Money.from_decimal(transaction.gros_amount).cents
    except InvalidAmount:
        raise ProviderUnavailable(f"grosAmount {transaction.gros_amount} is not in cents") from None
    state = STATES[transaction.status]
    return StatusReport(
        provider_reference=reference_of(connection_id, transaction.transaction_id),
        payment_reference=transaction.request_id or payment_reference,
        state=state,
        amount_cents=amount_cents,
        event_id=f"{transaction.transaction_id}:{transaction.status}",
        method=METHODS_BACK.get(transaction.payment_method, ""),
        failure_reason=transaction.status_detail[:200] if state == ProviderState.FAILED else "",
    )


def _same_payment(transaction: Transaction, request: StartRequest) -> None:
    """A transaction found for our requestId must be ours: same request, same amount."""
    if transaction.request_id and transaction.request_id != request.payment_reference:
        raise ProviderUnavailable(f"{transaction.transaction_id} answers another request")
    try:
        amount_cents = Money.from_decimal(transaction.gros_amount).cents
    except InvalidAmount:
        amount_cents = -1
    if amount_cents != request.amount_cents:
        raise ProviderRefused(
            "the service holds this payment with another amount",
            code="AMOUNT_MISMATCH",
            detail=f"{transaction.transaction_id}: {transaction.gros_amount}",
        )


def _checked_redirect(url: str) -> str:
    if len(url) > MAX_REDIRECT_URL:
        raise ProviderRefused("redirect too long", code="INVALID_ANSWER", detail=url[:100])
    if not url.lower().startswith("https://") and not settings.XBEZAHLDIENSTE_ALLOW_HTTP:
        raise ProviderRefused("redirect not https", code="INSECURE_URL", detail=url[:100])
    return url


def build_provider() -> XBezahldiensteProvider:
    return XBezahldiensteProvider(attempts=settings.XBEZAHLDIENSTE_START_ATTEMPTS)
