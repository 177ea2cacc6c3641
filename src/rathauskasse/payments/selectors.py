"""Reads of payments, scoped by organisation."""

from __future__ import annotations

import uuid

from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from rathauskasse.core.errors import NotFound
from rathauskasse.organisations.models import Organisation
from rathauskasse.payments.models import Payment, PaymentEvent


def payments(*, organisation: Organisation) -> QuerySet[Payment]:
    return Payment.objects.filter(organisation=organisation)


def get_payment(*, organisation: Organisation, public_id: uuid.UUID | str) -> Payment:
    try:
        return payments(organisation=organisation).get(public_id=public_id)
    except (Payment.DoesNotExist, ValueError, ValidationError):
        raise NotFound("Diese Zahlung gibt es nicht.") from None


def events(*, payment: Payment) -> QuerySet[PaymentEvent]:
    return payment.events.order_by("id")
