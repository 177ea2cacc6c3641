"""Reads of payments, scoped by organisation."""

from __future__ import annotations

import uuid

from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from rathauskasse.core.errors import NotFound
from rathauskasse.organisations.models import Organisation
from rathauskasse.payments.models import Payment, PaymentAllocation, PaymentEvent
from rathauskasse.receivables.models import Receivable


def payments(*, organisation: Organisation) -> QuerySet[Payment]:
    return Payment.objects.filter(organisation=organisation)


def get_payment(*, organisation: Organisation, public_id: uuid.UUID | str) -> Payment:
    try:
        return payments(organisation=organisation).get(public_id=public_id)
    except (Payment.DoesNotExist, ValueError, ValidationError):
        raise NotFound("Diese Zahlung gibt es nicht.") from None


def events(*, payment: Payment) -> QuerySet[PaymentEvent]:
    return payment.events.order_by("id")


def allocations(*, payment: Payment) -> QuerySet[PaymentAllocation]:
    return payment.allocations.select_related("receivable", "receivable__department").order_by(
        "receivable__kassenzeichen"
    )


def payments_of_user(*, organisation: Organisation, user_id: int) -> QuerySet[Payment]:
    return payments(organisation=organisation).filter(user_id=user_id).order_by("-created_at")


def payments_for(*, receivable: Receivable) -> QuerySet[Payment]:
    """Every payment that tried to pay the receivable, newest first."""
    return Payment.objects.filter(
        organisation_id=receivable.organisation_id, allocations__receivable=receivable
    ).order_by("-created_at")


def find_by_idempotency_key(*, organisation: Organisation, key: str) -> Payment | None:
    return payments(organisation=organisation).filter(idempotency_key=key).first()
