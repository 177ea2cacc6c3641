"""/api/v1/payments: create a payment for receivables, read, list, cancel, and its events."""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from ninja import Field, Query, Router, Schema

from rathauskasse.api.models import ApiKey, Scope
from rathauskasse.api.v1 import base
from rathauskasse.api.v1.schemas import (
    Limit,
    PaymentEventOut,
    PaymentIn,
    PaymentOut,
    PaymentPage,
    PaymentState,
)
from rathauskasse.core.errors import NotFound, ValidationFailed
from rathauskasse.payments import selectors, services
from rathauskasse.payments.models import Payment, PaymentStatus
from rathauskasse.receivables import selectors as receivable_selectors
from rathauskasse.receivables.models import Receivable

router = Router(tags=["payments"])


class PaymentFilter(Schema):
    status: PaymentState | None = None
    limit: Limit = 50
    after: uuid.UUID | None = Field(
        default=None, description="The `next_cursor` of the page before."
    )


def _provider(api_key: ApiKey) -> str:
    """Test keys pay only in the sandbox; live keys use the configured provider."""
    return "sandbox" if api_key.mode == "test" else settings.API_PAYMENT_PROVIDER


def _scoped(api_key: ApiKey) -> Any:
    found = selectors.payments(organisation=api_key.organisation)
    limited = base.department_ids(api_key)
    if limited:
        found = found.filter(allocations__receivable__department_id__in=limited).distinct()
    return found


def _get(api_key: ApiKey, payment_id: uuid.UUID) -> Payment:
    payment: Payment | None = _scoped(api_key).filter(public_id=payment_id).first()
    if payment is None:
        raise NotFound("Diese Zahlung gibt es nicht.")
    return payment


def next_url(payment: Payment) -> str | None:
    """Where the payer goes: our start link until the provider has the payment, then its page.

    The API does not register a payment at its provider; the start link does, when the payer
    arrives (decision 0020).
    """
    if payment.status == PaymentStatus.CREATED:
        return f"{settings.SITE_URL}{reverse('payment-start', args=[payment.public_id])}"
    if payment.status == PaymentStatus.STARTED and payment.redirect_url:
        return str(payment.redirect_url)
    return None


def serialize(payment: Payment, allocations: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The payment as the API shows it; `allocations` when the caller knows them already."""
    return {
        "id": payment.public_id,
        "status": payment.status,
        "amount_cents": payment.amount_cents,
        "method": payment.method,
        "provider": payment.provider,
        "provider_reference": payment.provider_reference,
        "description": payment.description,
        "next_url": next_url(payment),
        "failure_reason": payment.failure_reason,
        "refund_status": payment.refund_status,
        "created_at": payment.created_at,
        "expires_at": payment.expires_at,
        "allocations": allocations
        if allocations is not None
        else [
            {
                "receivable": a.receivable_id,
                "kassenzeichen": a.receivable.kassenzeichen,
                "amount_cents": a.amount_cents,
            }
            for a in selectors.allocations(payment=payment)
        ],
    }


def _requested_allocations(
    payment: Payment, payload: PaymentIn, receivables: dict[int, Receivable]
) -> list[dict[str, Any]] | None:
    """A new payment's allocations, where they follow from the request, in `serialize`'s order.

    One receivable gets the whole payment; several with amounts get those amounts (create_payment
    refuses anything else). Otherwise (amounts left to the open amounts) None: read them.
    """
    requested = payload.receivables
    if len(requested) == 1:
        amounts = [payment.amount_cents]
    elif all(a.amount_cents is not None for a in requested):
        amounts = [int(a.amount_cents or 0) for a in requested]
    else:
        return None
    rows = [
        {
            "receivable": a.receivable,
            "kassenzeichen": receivables[a.receivable].kassenzeichen,
            "amount_cents": amount,
        }
        for a, amount in zip(requested, amounts, strict=True)
    ]
    return sorted(rows, key=lambda row: str(row["kassenzeichen"]))


@router.post(
    "",
    response={201: PaymentOut, **base.problems(*base.WRITE)},
    summary="Create a payment for one or more receivables; send the payer to `next_url`",
    description=(
        "The payment is created with status `created`; `next_url` is its start link, which "
        "registers it at the provider when the payer arrives and sends the payer on there."
    ),
)
def create(request: HttpRequest, payload: PaymentIn) -> HttpResponse:
    api_key = base.require(request, Scope.PAYMENTS_WRITE)

    def run() -> tuple[int, Any]:
        ids = [a.receivable for a in payload.receivables]
        limited = base.department_ids(api_key)
        # Found in the key's scope and locked at once (in id order, against deadlocks), so that
        # create_payment needs no look-up of its own: one statement instead of two.
        found = receivable_selectors.lock_for_payment(
            organisation=api_key.organisation, receivable_ids=ids, department_ids=limited
        )
        by_id = {r.pk: r for r in found}
        missing = [pk for pk in ids if pk not in by_id]
        if missing:
            raise ValidationFailed(
                {"receivables": f"Diese Forderungen gibt es nicht: {', '.join(map(str, missing))}"}
            )
        payment = services.create_payment(
            actor=base.actor_of(api_key),
            organisation=api_key.organisation,
            allocations=[
                services.AllocationInput(by_id[a.receivable], a.amount_cents)
                for a in payload.receivables
            ],
            provider=_provider(api_key),
            method=payload.method,
            return_url=payload.return_url,
            description=payload.description,
            payer_email=payload.payer_email,
            locked=True,
        )
        # Not started at the provider here: `next_url` does that when the payer arrives
        # (decision 0020). The receivables were found in the key's scope above, so the answer
        # needs no second look-up.
        return 201, serialize(payment, _requested_allocations(payment, payload, by_id))

    # One transaction: the key's reservation, the payment and the stored answer commit together.
    return base.idempotent(request, run, atomic=True)


@router.get(
    "",
    response={200: PaymentPage, **base.problems(*base.READ)},
    summary="List payments, newest first",
)
def list_payments(request: HttpRequest, filters: Query[PaymentFilter]) -> dict[str, Any]:
    api_key = base.require(request, Scope.PAYMENTS_READ)
    found = _scoped(api_key).order_by("-id")
    if filters.status:
        found = found.filter(status=filters.status)
    if filters.after:
        try:
            cursor = _scoped(api_key).get(public_id=filters.after).pk
        except Payment.DoesNotExist:
            raise ValidationFailed({"after": "Ungültiger Cursor."}) from None
        found = found.filter(pk__lt=cursor)
    limit = filters.limit
    page = list(found[: limit + 1])
    more = len(page) > limit
    page = page[:limit]
    return {
        "data": [serialize(p) for p in page],
        "next_cursor": str(page[-1].public_id) if more and page else None,
    }


@router.get(
    "/{payment_id}",
    response={200: PaymentOut, **base.problems(404, *base.READ)},
    summary="Get a payment",
)
def get(request: HttpRequest, payment_id: uuid.UUID) -> dict[str, Any]:
    api_key = base.require(request, Scope.PAYMENTS_READ)
    return serialize(_get(api_key, payment_id))


@router.post(
    "/{payment_id}/cancel",
    response={200: PaymentOut, **base.problems(404, 409, 413, 422)},
    summary="Cancel an unfinished payment (the provider is asked first; its answer counts)",
)
def cancel(request: HttpRequest, payment_id: uuid.UUID) -> HttpResponse:
    api_key = base.require(request, Scope.PAYMENTS_WRITE)

    def run() -> tuple[int, Any]:
        payment = _get(api_key, payment_id)
        if payment.is_finished:
            raise services.TransitionNotAllowed(
                f"Die Zahlung ist bereits abgeschlossen ({payment.status})."
            )
        services.abandon_payment(payment=payment, actor=base.actor_of(api_key))
        return 200, serialize(_get(api_key, payment_id))

    return base.idempotent(request, run)


@router.get(
    "/{payment_id}/events",
    response={200: list[PaymentEventOut], **base.problems(404, *base.READ)},
    summary="A payment's events",
)
def events(request: HttpRequest, payment_id: uuid.UUID) -> list[dict[str, Any]]:
    api_key = base.require(request, Scope.PAYMENTS_READ)
    payment = _get(api_key, payment_id)
    return [
        {
            "kind": e.kind,
            "from_status": e.from_status,
            "to_status": e.to_status,
            "source": e.source,
            "created_at": e.created_at,
        }
        for e in selectors.events(payment=payment)
    ]
