"""XBezahldienste: placing a PaymentRequest, reading a PaymentTransaction, configuring pairs.

Invariants kept here:
- a PaymentRequest is checked completely (sums in cents, booking data, budget lines) before
  anything is written; a refused request writes nothing;
- a transaction, its receivable (one line per item) and its payment are created in one
  database transaction; a requestId is placed at most once per pair, enforced by a unique
  constraint, so two racing requests give one transaction and one PAYMENT_EXISTS;
- the provider is called only after that transaction committed (no row lock is held during the
  call). When it cannot start the payment, the transaction is withdrawn: its payment is
  cancelled and its receivable reversed, so no open receivable is left for a transaction the
  online service never got;
- the status is never stored: it is derived from the payment each time it is read;
- when a transaction's payment ends failed, cancelled or expired, its receivable is cancelled
  (by reversal) in the same database transaction as the payment's state change, exactly once,
  whoever learnt of the outcome (notification, poll, return page, expiry task);
- every write and every configuration change is in the audit log; secrets never are.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.urls import reverse

from rathauskasse.api.models import BookingTarget, XBezahldiensteEndpoint, XBezahldiensteTransaction
from rathauskasse.api.xbezahldienste import auth, wire
from rathauskasse.api.xbezahldienste.errors import (
    BookingDataMissing,
    CalculationError,
    InvalidRequest,
    PaymentExists,
    TransactionNotFound,
    Unavailable,
)
from rathauskasse.api.xbezahldienste.schemas import PaymentItem, PaymentRequest
from rathauskasse.core import audit, clock
from rathauskasse.core.errors import DomainError, ValidationFailed, full_clean_or_fail
from rathauskasse.core.money import Money
from rathauskasse.events.models import Event, EventType
from rathauskasse.organisations.models import BudgetLine, Organisation
from rathauskasse.payments import registry
from rathauskasse.payments import selectors as payment_selectors
from rathauskasse.payments import services as payments
from rathauskasse.payments.models import TERMINAL, EventSource, Payment, PaymentStatus
from rathauskasse.receivables import services as receivables
from rathauskasse.receivables.models import ReceivableSource, ReceivableStatus

logger = logging.getLogger(__name__)

#: Keys we add to a line's booking data; an item may not send them itself.
RESERVED_PREFIX = "xbd."
#: Our payment methods as the standard names them: (paymentMethod, paymentMethodDetail).
METHODS: dict[str, tuple[str, str | None]] = {
    "card": ("CREDITCARD", None),
    "paypal": ("PAYPAL", None),
    "giropay": ("GIROPAY", None),
    "sepa_debit": ("OTHER", "SEPA-Lastschrift"),
    "wero": ("OTHER", "Wero"),
    "bank_transfer": ("OTHER", "Überweisung"),
}
_ENDED_BADLY = frozenset(
    {EventType.PAYMENT_FAILED, EventType.PAYMENT_CANCELLED, EventType.PAYMENT_EXPIRED}
)


def actor_of(endpoint: XBezahldiensteEndpoint) -> audit.Actor:
    return audit.Actor(label=f"xbezahldienste:{endpoint.originator_id}/{endpoint.endpoint_id}")


# --- configuration -----------------------------------------------------------------------------


def unavailable_because(endpoint: XBezahldiensteEndpoint) -> list[str]:
    """Why the pair cannot take payments now (empty: it can). Shown to its own callers only."""
    reasons: list[str] = []
    if not endpoint.is_enabled:
        reasons.append("Der Endpunkt ist abgeschaltet.")
    try:
        provider = registry.get_provider(endpoint.provider)
    except DomainError:
        reasons.append("Der eingestellte Zahlungsdienst ist nicht eingerichtet.")
    except Exception:  # a factory that fails to build its provider is a configuration fault
        logger.exception("payment provider %s cannot be built", endpoint.provider)
        reasons.append("Der eingestellte Zahlungsdienst ist nicht eingerichtet.")
    else:
        if endpoint.method not in provider.capabilities.methods:
            reasons.append("Der Zahlungsdienst bietet die eingestellte Zahlart nicht an.")
    if not endpoint.default_budget_line.is_active:
        reasons.append("Die voreingestellte Haushaltsstelle ist nicht mehr aktiv.")
    return reasons


def _audit_view(endpoint: XBezahldiensteEndpoint) -> dict[str, Any]:
    """The configuration as the audit log keeps it: secrets only as whether they are set."""
    return {
        "organisation": endpoint.organisation_id,
        "name": endpoint.name,
        "originator_id": endpoint.originator_id,
        "endpoint_id": endpoint.endpoint_id,
        "department": endpoint.department_id,
        "default_budget_line": endpoint.default_budget_line_id,
        "provider": endpoint.provider,
        "method": endpoint.method,
        "booking_data_mapping": endpoint.booking_data_mapping,
        "required_booking_keys": endpoint.required_booking_keys,
        "is_enabled": endpoint.is_enabled,
        "basic_username": endpoint.basic_username,
        "basic_password": "(gesetzt)" if endpoint.basic_password_hash else "",
        "oauth_client_id": endpoint.oauth_client_id,
        "oauth_client_secret": "(gesetzt)" if endpoint.oauth_secret_hash else "",
        "client_cert_sha256": endpoint.client_cert_sha256,
    }


@transaction.atomic
def save_endpoint(
    *,
    actor: audit.Actor,
    endpoint: XBezahldiensteEndpoint,
    basic_password: str | None = None,
    new_client_secret: bool = False,
) -> str | None:
    """Create or change a pair; returns a newly made OAuth2 client secret (shown once) or None.

    `basic_password` replaces the Basic password ("" removes it). A new client secret makes
    every token issued before it invalid.
    """
    before: dict[str, Any] | None = None
    if not endpoint._state.adding:
        stored = XBezahldiensteEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        before = _audit_view(stored)
    endpoint.client_cert_sha256 = auth.normalise_fingerprint(endpoint.client_cert_sha256)
    if basic_password is not None:
        endpoint.basic_password_hash = make_password(basic_password) if basic_password else ""
    if endpoint.basic_password_hash and not endpoint.basic_username:
        raise ValidationFailed({"basic_username": "Zum Passwort gehört ein Benutzername."})
    secret = None
    if new_client_secret:
        secret = secrets.token_urlsafe(32)
        endpoint.oauth_client_id = endpoint.oauth_client_id or "xbd_" + secrets.token_hex(12)
        endpoint.oauth_secret_hash = make_password(secret)
    full_clean_or_fail(endpoint, exclude=["created_at", "updated_at"])
    endpoint.save()
    after = _audit_view(endpoint)
    if before is None:
        audit.record(
            actor=actor,
            action="xbezahldienste.endpoint.created",
            obj=endpoint,
            organisation_id=endpoint.organisation_id,
            after=after,
        )
    else:
        changed = [key for key in after if before.get(key) != after[key]]
        if basic_password:
            changed.append("basic_password")
        if new_client_secret:
            changed.append("oauth_client_secret")
        audit.record(
            actor=actor,
            action="xbezahldienste.endpoint.changed",
            obj=endpoint,
            organisation_id=endpoint.organisation_id,
            before={key: before.get(key) for key in dict.fromkeys(changed)},
            after={key: after[key] for key in dict.fromkeys(changed)},
        )
    return secret


def create_endpoint(
    *,
    actor: audit.Actor,
    organisation: Organisation,
    name: str,
    originator_id: str,
    endpoint_id: str,
    department: Any,
    default_budget_line: BudgetLine,
    provider: str | None = None,
    method: str = "card",
    booking_data_mapping: Mapping[str, str] | None = None,
    required_booking_keys: Sequence[str] = (),
    basic_username: str = "",
    basic_password: str | None = None,
    oauth: bool = False,
    client_cert_sha256: str = "",
) -> tuple[XBezahldiensteEndpoint, str | None]:
    """A new pair (demo, tests); returns it with its OAuth2 client secret when `oauth`."""
    endpoint = XBezahldiensteEndpoint(
        organisation=organisation,
        name=name,
        originator_id=originator_id,
        endpoint_id=endpoint_id,
        department=department,
        default_budget_line=default_budget_line,
        method=method,
        booking_data_mapping=dict(booking_data_mapping or {}),
        required_booking_keys=list(required_booking_keys),
        basic_username=basic_username,
        client_cert_sha256=client_cert_sha256,
    )
    if provider is not None:
        endpoint.provider = provider
    secret = save_endpoint(
        actor=actor, endpoint=endpoint, basic_password=basic_password, new_client_secret=oauth
    )
    return endpoint, secret


def find_endpoint(*, originator_id: str, endpoint_id: str) -> XBezahldiensteEndpoint | None:
    found: XBezahldiensteEndpoint | None = (
        XBezahldiensteEndpoint.objects.select_related(
            "organisation", "department", "default_budget_line"
        )
        .filter(originator_id=originator_id, endpoint_id=endpoint_id)
        .first()
    )
    return found


# --- placing a PaymentRequest ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Checked:
    lines: list[receivables.LineInput]
    gross_cents: int
    debtor_account: str


def _item_name(index: int, item: PaymentItem) -> str:
    return f"Position {index + 1} (id „{item.id}“)"


def _check_sums(request: PaymentRequest) -> int:
    """The items' totals in cents; CALCULATION_ERROR when they do not add up."""
    total = 0
    for index, item in enumerate(request.items):
        for kind, single, whole in (
            ("Netto", item.singleNetAmount, item.totalNetAmount),
            ("Steuer", item.singleTaxAmount, item.totalTaxAmount),
        ):
            expected = wire.to_cents(single) * item.quantity
            if expected != wire.to_cents(whole):
                raise CalculationError(
                    f"{_item_name(index, item)}: {item.quantity} × "
                    f"{Money(wire.to_cents(single)).format_de()} ({kind}) ergibt "
                    f"{Money(expected).format_de()}, angegeben sind "
                    f"{Money(wire.to_cents(whole)).format_de()}."
                )
        total += wire.to_cents(item.totalNetAmount) + wire.to_cents(item.totalTaxAmount)
    gros = wire.to_cents(request.grosAmount)
    if total != gros:
        raise CalculationError(
            f"Die Positionen ergeben {Money(total).format_de()}, grosAmount ist "
            f"{Money(gros).format_de()}."
        )
    return gros


def _check(endpoint: XBezahldiensteEndpoint, request: PaymentRequest) -> _Checked:
    gros = _check_sums(request)
    if gros <= 0:
        raise InvalidRequest("Der Gesamtbetrag (grosAmount) muss größer als 0 sein.")
    missing = [
        f"{_item_name(index, item)}: „{key}“"
        for index, item in enumerate(request.items)
        for key in endpoint.required_booking_keys
        if not (item.bookingData or {}).get(key, "").strip()
    ]
    if missing:
        raise BookingDataMissing(
            "Es fehlen Buchungsdaten (bookingData): " + "; ".join(missing[:10]) + "."
        )
    mapping: dict[str, str] = dict(endpoint.booking_data_mapping)
    line_codes = {
        (item.bookingData or {}).get(key, "").strip()
        for item in request.items
        for key, target in mapping.items()
        if target == BookingTarget.BUDGET_LINE
    } - {""}
    budget_lines = {
        line.code: line
        for line in BudgetLine.objects.filter(
            organisation_id=endpoint.organisation_id, code__in=line_codes, is_active=True
        )
    }
    lines: list[receivables.LineInput] = []
    accounts: set[str] = set()
    for index, item in enumerate(request.items):
        data = dict(item.bookingData or {})
        reserved = [key for key in data if key.startswith(RESERVED_PREFIX)]
        if reserved:
            raise InvalidRequest(
                f"{_item_name(index, item)}: Schlüssel mit „{RESERVED_PREFIX}“ sind in "
                f"bookingData nicht erlaubt („{reserved[0]}“)."
            )
        budget_line = endpoint.default_budget_line
        for key, target in mapping.items():
            value = data.get(key, "").strip()
            if not value:
                continue
            if target == BookingTarget.BUDGET_LINE:
                if value not in budget_lines:
                    raise InvalidRequest(
                        f"{_item_name(index, item)}: Die Haushaltsstelle „{value}“ "
                        f"({key}) gibt es nicht oder sie ist nicht aktiv."
                    )
                budget_line = budget_lines[value]
            elif target == BookingTarget.DEBTOR_ACCOUNT:
                if len(value) > 30:
                    raise InvalidRequest(
                        f"{_item_name(index, item)}: Das Personenkonto ({key}) hat höchstens "
                        "30 Zeichen."
                    )
                accounts.add(value)
        net = wire.to_cents(item.totalNetAmount)
        tax = wire.to_cents(item.totalTaxAmount)
        if net + tax <= 0:
            raise InvalidRequest(f"{_item_name(index, item)}: Der Betrag muss größer als 0 sein.")
        data.update(
            {
                "xbd.id": item.id,
                "xbd.reference": item.reference or "",
                "xbd.taxRate": "" if item.taxRate is None else str(item.taxRate),
                "xbd.quantity": str(item.quantity),
                "xbd.totalNetCents": str(net),
                "xbd.totalTaxCents": str(tax),
            }
        )
        lines.append(
            receivables.LineInput(
                text=(item.description or request.purpose).strip() or request.purpose,
                amount_cents=net + tax,
                budget_line=budget_line,
                booking_data=data,
            )
        )
    if len(accounts) > 1:
        raise InvalidRequest("Die Positionen nennen verschiedene Personenkonten.")
    return _Checked(lines=lines, gross_cents=gros, debtor_account=next(iter(accounts), ""))


def _debtor(request: PaymentRequest, account: str) -> receivables.Debtor:
    person = request.requestor
    if person is None:
        return receivables.Debtor(name="unbekannt", country="", account=account)
    if person.isOrganization and person.organizationName:
        name = person.organizationName
    else:
        name = " ".join(part for part in (person.firstName, person.name) if part and part.strip())
    email = (person.email or "").strip()
    if email:
        try:
            validate_email(email)
        except DjangoValidationError:
            raise InvalidRequest("requestor.email ist keine gültige E-Mail-Adresse.") from None
    address = person.address
    street = ""
    if address is not None:
        street = " ".join(p for p in (address.street, address.houseNumber) if p and p.strip())
        if not street and address.addressLine:
            street = ", ".join(line for line in address.addressLine if line.strip())
    return receivables.Debtor(
        name=(name.strip() or "unbekannt")[:200],
        street=street.strip()[:200],
        postcode=(address.postalCode or "").strip() if address else "",
        city=(address.city or "").strip() if address else "",
        country=(address.country or "") if address else "",
        email=email,
        account=account,
    )


def find_transaction(
    *, endpoint: XBezahldiensteEndpoint, key: str
) -> XBezahldiensteTransaction | None:
    """The pair's transaction with this transactionId, or else with this requestId."""
    found = XBezahldiensteTransaction.objects.select_related(
        "payment", "receivable", "endpoint"
    ).filter(organisation_id=endpoint.organisation_id, endpoint=endpoint, withdrawn_at__isnull=True)
    transaction_: XBezahldiensteTransaction | None = (
        found.filter(transaction_id=key).first() or found.filter(request_id=key).first()
    )
    return transaction_


def _exists(endpoint: XBezahldiensteEndpoint, request_id: str) -> PaymentExists | None:
    existing = (
        XBezahldiensteTransaction.objects.filter(
            organisation_id=endpoint.organisation_id,
            endpoint=endpoint,
            request_id=request_id,
            withdrawn_at__isnull=True,
        )
        .values_list("transaction_id", flat=True)
        .first()
    )
    if existing is None:
        return None
    return PaymentExists(
        f"Zur requestId „{request_id}“ gibt es schon die Transaktion „{existing}“.",
        transaction_id=existing,
    )


def return_url(transaction_id: str) -> str:
    return f"{settings.SITE_URL}{reverse('xbezahldienste-return', args=[transaction_id])}"


def place_payment(
    *, endpoint: XBezahldiensteEndpoint, request: PaymentRequest, received: str
) -> XBezahldiensteTransaction:
    """Create the transaction with its receivable and payment, then start the payment."""
    checked = _check(endpoint, request)
    debtor = _debtor(request, checked.debtor_account)
    duplicate = _exists(endpoint, request.requestId)
    if duplicate is not None:
        raise duplicate  # before availability: a client recovering a lost answer learns its id
    reasons = unavailable_because(endpoint)
    if reasons:
        raise Unavailable(" ".join(reasons))
    actor = actor_of(endpoint)
    purpose = request.purpose.strip()
    if request.description and request.description.strip():
        purpose = f"{purpose} – {request.description.strip()}"
    try:
        with transaction.atomic():
            receivable = receivables.create_receivable(
                actor=actor,
                organisation=endpoint.organisation,
                department=endpoint.department,
                lines=checked.lines,
                purpose=purpose[:140],
                debtor=debtor,
                source=ReceivableSource.XBEZAHLDIENSTE,
                source_reference=request.requestId,
            )
            transaction_id = XBezahldiensteTransaction._meta.get_field("transaction_id")
            new_id: str = transaction_id.get_default()
            payment = payments.create_payment(
                actor=actor,
                organisation=endpoint.organisation,
                allocations=[payments.AllocationInput(receivable, checked.gross_cents)],
                provider=endpoint.provider,
                method=endpoint.method,
                return_url=return_url(new_id),
                description=request.purpose.strip(),
            )
            created = XBezahldiensteTransaction.objects.create(
                endpoint=endpoint,
                organisation=endpoint.organisation,
                transaction_id=new_id,
                request_id=request.requestId,
                received_request=received,
                redirect_url=request.redirectUrl,
                receivable=receivable,
                payment=payment,
                created_at=clock.now(),
            )
            audit.record(
                actor=actor,
                action="xbezahldienste.transaction.created",
                obj=created,
                organisation_id=endpoint.organisation_id,
                after={
                    "transaction_id": new_id,
                    "request_id": request.requestId,
                    "receivable": receivable.pk,
                    "payment": str(payment.public_id),
                    "amount_cents": checked.gross_cents,
                },
            )
    except IntegrityError:
        # A request with the same requestId committed first (the unique constraint refused
        # ours, and everything above was rolled back with it).
        duplicate = _exists(endpoint, request.requestId)
        if duplicate is None:
            raise
        raise duplicate from None
    except ValidationFailed as exc:
        raise InvalidRequest(exc.message) from exc
    except payments.PaymentRefused as exc:
        raise Unavailable(exc.message) from exc

    try:
        payments.start_payment(payment=payment, actor=actor)
    except Exception as exc:
        _withdraw(created, actor=actor, why=str(getattr(exc, "message", "")) or type(exc).__name__)
        if isinstance(exc, DomainError):
            raise Unavailable(
                "Der Zahlungsdienst ist gerade nicht erreichbar; es wurde nichts angelegt. "
                "Bitte versuchen Sie es später mit derselben requestId noch einmal."
            ) from exc
        raise
    created.payment = Payment.objects.get(pk=payment.pk)
    return created


@transaction.atomic
def _withdraw(tx: XBezahldiensteTransaction, *, actor: audit.Actor, why: str) -> None:
    """Undo a transaction whose payment could not be started: the online service never got it.

    Cancelling the payment cancels the receivable (`on_event_recorded`); the transaction stays
    for the record, marked withdrawn, and its requestId is free again.
    """
    payment = Payment.objects.get(pk=tx.payment_id)
    if not payment.is_finished:
        payments.cancel_payment(payment=payment, source=EventSource.SYSTEM, actor=actor)
    XBezahldiensteTransaction.objects.filter(pk=tx.pk).update(withdrawn_at=clock.now())
    audit.record(
        actor=actor,
        action="xbezahldienste.transaction.withdrawn",
        obj=tx,
        organisation_id=tx.organisation_id,
        after={"reason": why[:200]},
    )


# --- reading a PaymentTransaction --------------------------------------------------------------


def refresh(tx: XBezahldiensteTransaction) -> XBezahldiensteTransaction:
    """Ask the provider about an unfinished payment; a provider that is down changes nothing."""
    if tx.payment.status in TERMINAL:
        return tx
    try:
        tx.payment = payments.sync_payment(payment=tx.payment)
    except DomainError as exc:  # ProviderFailed, or a provider no longer configured
        logger.info("xbezahldienste %s: no status from the provider: %s", tx.transaction_id, exc)
    return tx


def transaction_url(tx: XBezahldiensteTransaction) -> str:
    path = reverse(
        "xbezahldienste-v1:get_payment_transaction",
        kwargs={
            "originatorId": tx.endpoint.originator_id,
            "endPointId": tx.endpoint.endpoint_id,
            "transactionId": tx.transaction_id,
        },
    )
    return f"{settings.SITE_URL}{path}"


def _paid_at(payment: Payment) -> dt.datetime:
    event = (
        payment_selectors.events(payment=payment).filter(to_status=PaymentStatus.SUCCEEDED).first()
    )
    return event.created_at if event is not None else payment.updated_at


def describe(tx: XBezahldiensteTransaction) -> dict[str, Any]:
    """The PaymentTransaction: the request as received, and what we know of its payment now."""
    payment = tx.payment
    info: dict[str, Any] = {
        "transactionId": tx.transaction_id,
        "transactionReference": tx.receivable.kassenzeichen,
        "transactionUrl": transaction_url(tx),
    }
    status = payment.status
    if status in (PaymentStatus.CREATED, PaymentStatus.STARTED, PaymentStatus.PENDING):
        if payment.redirect_url:
            info["transactionRedirectUrl"] = payment.redirect_url
        info["status"] = "INITIAL"
        if status == PaymentStatus.PENDING:
            info["statusDetail"] = "Der Zahlungsdienst prüft die Zahlung noch."
    elif status == PaymentStatus.SUCCEEDED:
        method, detail = METHODS.get(payment.method, ("OTHER", payment.get_method_display()))
        info["transactionTimestamp"] = _paid_at(payment).astimezone(dt.UTC).isoformat()
        info["paymentMethod"] = method
        if detail:
            info["paymentMethodDetail"] = detail
        info["status"] = "PAYED"
        if payment.refund_status != "none":
            info["statusDetail"] = f"Bezahlt, {payment.get_refund_status_display()}."
    elif status == PaymentStatus.CANCELLED:
        info["status"] = "CANCELED"
        info["statusDetail"] = "Die Zahlung wurde abgebrochen."
    elif status == PaymentStatus.EXPIRED:
        info["status"] = "FAILED"
        info["statusDetail"] = (
            "Die Zahlung wurde nicht rechtzeitig abgeschlossen (Zeitüberschreitung)."
        )
    else:
        info["status"] = "FAILED"
        reason = payment.failure_reason.strip()
        info["statusDetail"] = "Die Zahlung wurde abgelehnt" + (f": {reason}." if reason else ".")
    return {"paymentRequest": wire.loads(tx.received_request.encode()), "paymentInformation": info}


def get_transaction(*, endpoint: XBezahldiensteEndpoint, key: str) -> XBezahldiensteTransaction:
    tx = find_transaction(endpoint=endpoint, key=key)
    if tx is None:
        raise TransactionNotFound(
            f"Zu „{key}“ gibt es bei diesem Endpunkt keine Transaktion (weder als "
            "transactionId noch als requestId)."
        )
    return refresh(tx)


def find_for_return(transaction_id: str) -> XBezahldiensteTransaction | None:
    """The transaction a payer comes back for (the return page knows only the id)."""
    found: XBezahldiensteTransaction | None = (
        XBezahldiensteTransaction.objects.select_related("payment", "endpoint")
        .filter(transaction_id=transaction_id, withdrawn_at__isnull=True)
        .first()
    )
    return found


# --- the receivable follows the payment --------------------------------------------------------


def on_event_recorded(
    sender: Any,  # noqa: ARG001 - the signal's signature
    *,
    event_id: int,
    organisation_id: int,
    type: str,  # noqa: A002 - the signal's argument name
    **kwargs: Any,  # noqa: ARG001
) -> None:
    """A payment ended failed, cancelled or expired: cancel its transaction's receivable.

    Runs in the transaction that changed the payment's state (`events.event_recorded`), which
    happens exactly once per payment and outcome.
    """
    if type not in _ENDED_BADLY:
        return
    data = Event.objects.filter(pk=event_id).values_list("data", flat=True).first()
    public_id = (data or {}).get("payment") if isinstance(data, dict) else None
    if not public_id:
        return
    tx = (
        XBezahldiensteTransaction.objects.select_related("receivable", "endpoint")
        .filter(organisation_id=organisation_id, payment__public_id=public_id)
        .first()
    )
    if tx is not None:
        _close_receivable(tx, outcome=type)


def _close_receivable(tx: XBezahldiensteTransaction, *, outcome: str) -> None:
    receivable = tx.receivable
    actor = actor_of(tx.endpoint)
    if receivable.status != ReceivableStatus.OPEN:
        return
    others = (
        payment_selectors.payments_for(receivable=receivable)
        .exclude(pk=tx.payment_id)
        .exclude(status__in=TERMINAL)
        .exists()
    )
    reason = f"XBezahldienste {tx.transaction_id}: {EventType(outcome).label}"
    if others:
        # Someone pays it another way right now (e.g. by its Kassenzeichen in the portal).
        audit.record(
            actor=actor,
            action="xbezahldienste.receivable_kept_open",
            obj=receivable,
            organisation_id=receivable.organisation_id,
            after={"reason": reason, "why": "another payment is under way"},
        )
        return
    try:
        receivables.cancel_receivable(actor=actor, receivable=receivable, reason=reason)
    except receivables.ReceivableNotCancellable:
        audit.record(
            actor=actor,
            action="xbezahldienste.receivable_kept_open",
            obj=receivable,
            organisation_id=receivable.organisation_id,
            after={"reason": reason, "why": "partly paid"},
        )
