"""/api/v1/events (the feed) and /api/v1/refunds."""

from __future__ import annotations

import uuid
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema

from rathauskasse.api.models import Scope
from rathauskasse.api.v1 import base
from rathauskasse.api.v1.payments import _get as get_payment
from rathauskasse.api.v1.schemas import Cents, In
from rathauskasse.core.errors import NotFound
from rathauskasse.events import selectors as events
from rathauskasse.payments import services as payments
from rathauskasse.payments.models import Refund

router = Router(tags=["events and refunds"])


class EventFilter(Schema):
    after: int = Field(
        default=0, ge=0, le=2**63 - 1, description="The last event id you have seen."
    )
    limit: int = Field(default=100, ge=1, le=500)


class EventOut(Schema):
    id: int
    type: str
    created_at: Any
    data: dict[str, Any]


class EventPage(Schema):
    data: list[EventOut]
    next_cursor: int = Field(description="Pass as `after` next time (the last id you got).")
    has_more: bool = Field(description="More events wait; ask again at once.")


@router.get(
    "/events",
    response={200: EventPage, **base.problems(*base.READ)},
    summary="The events feed, oldest first",
)
def feed(request: HttpRequest, filters: Query[EventFilter]) -> dict[str, Any]:
    api_key = base.require(request, Scope.EVENTS_READ)
    if base.department_ids(api_key):
        raise base.Forbidden("Das Ereignisprotokoll gibt es nur für Schlüssel ohne Ämter-Grenze.")
    page = list(
        events.feed(organisation=api_key.organisation, after=filters.after)[: filters.limit + 1]
    )
    more = len(page) > filters.limit
    page = page[: filters.limit]
    return {
        "data": [
            {"id": e.pk, "type": e.type, "created_at": e.created_at, "data": e.data} for e in page
        ],
        "next_cursor": page[-1].pk if page else filters.after,
        "has_more": more,
    }


class RefundIn(In):
    payment: uuid.UUID
    amount_cents: Cents | None = Field(
        default=None, description="Leave out to refund all that is left."
    )
    reason: str = Field(min_length=1, max_length=200)


class RefundOut(Schema):
    id: uuid.UUID
    payment: uuid.UUID
    amount_cents: int
    status: str
    reason: str
    failure_reason: str
    created_at: Any


def _refund_out(refund: Refund) -> dict[str, Any]:
    return {
        "id": refund.public_id,
        "payment": refund.payment.public_id,
        "amount_cents": refund.amount_cents,
        "status": refund.status,
        "reason": refund.reason,
        "failure_reason": refund.failure_reason,
        "created_at": refund.created_at,
    }


@router.post(
    "/refunds",
    response={201: RefundOut, **base.problems(404, *base.WRITE)},
    summary="Refund (part of) a payment",
)
def create_refund(request: HttpRequest, payload: RefundIn) -> HttpResponse:
    api_key = base.require(request, Scope.REFUNDS_WRITE)

    def run() -> tuple[int, Any]:
        payment = get_payment(api_key, payload.payment)
        amount = payload.amount_cents or payments.refundable_cents(payment)
        refund = payments.refund_payment(
            actor=base.actor_of(api_key),
            payment=payment,
            amount_cents=amount,
            reason=payload.reason,
        )
        return 201, _refund_out(Refund.objects.select_related("payment").get(pk=refund.pk))

    return base.idempotent(request, run)


@router.get(
    "/refunds/{refund_id}",
    response={200: RefundOut, **base.problems(404, *base.READ)},
    summary="Get a refund",
)
def get_refund(request: HttpRequest, refund_id: uuid.UUID) -> dict[str, Any]:
    api_key = base.require(request, Scope.PAYMENTS_READ)
    refund = (
        Refund.objects.select_related("payment")
        .filter(public_id=refund_id, payment__organisation=api_key.organisation)
        .first()
    )
    if refund is None:
        raise NotFound("Diese Erstattung gibt es nicht.")
    get_payment(api_key, refund.payment.public_id)  # the key's departments apply
    return _refund_out(refund)
