"""Reads of payments, scoped by organisation."""

from __future__ import annotations

import uuid

from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import QuerySet

from rathauskasse.core.errors import NotFound
from rathauskasse.organisations.models import Organisation
from rathauskasse.payments.models import Payment, PaymentAllocation, PaymentEvent, PaymentStatus
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


def receivables_with_unfinished_payments(
    organisation_id: int, receivable_ids: list[int]
) -> set[int]:
    """Of `receivable_ids`, those with a payment started at its provider or pending there.

    Registered as a clearing check of the receivables domain: money may be on its way.
    """
    return set(
        PaymentAllocation.objects.filter(
            payment__organisation_id=organisation_id,
            payment__status__in=(PaymentStatus.STARTED, PaymentStatus.PENDING),
            receivable_id__in=receivable_ids,
        ).values_list("receivable_id", flat=True)
    )


def posting_reference_sql(alias: str) -> str:
    """SQL for the `reference` the ledger's entries of payment `alias` carry (`payment:<id>`).

    For readers that join ledger lines to their payment in one statement (the finance export);
    PostgreSQL stores the public id as a uuid, SQLite as 32 hex digits without hyphens.
    """
    column = f"{alias}.public_id"
    if connection.vendor == "postgresql":
        return f"('payment:' || {column}::text)"
    parts = [
        f"substr({column}, {start}, {length})"
        for start, length in ((1, 8), (9, 4), (13, 4), (17, 4), (21, 12))
    ]
    return "('payment:' || " + " || '-' || ".join(parts) + ")"
