"""Reads of payments, scoped by organisation."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import QuerySet

from rathauskasse.core.errors import NotFound
from rathauskasse.organisations.models import Organisation
from rathauskasse.payments import registry
from rathauskasse.payments.contract import PayoutSource, ProviderUnavailable
from rathauskasse.payments.models import Payment, PaymentAllocation, PaymentEvent, PaymentStatus
from rathauskasse.receivables.models import Receivable


def payments(*, organisation: Organisation) -> QuerySet[Payment]:
    return Payment.objects.filter(organisation=organisation)


def get_payment(*, organisation: Organisation, public_id: uuid.UUID | str) -> Payment:
    try:
        return payments(organisation=organisation).get(public_id=public_id)
    except (Payment.DoesNotExist, ValueError, ValidationError):
        raise NotFound("Diese Zahlung gibt es nicht.") from None


def payment_for_payer(*, public_id: uuid.UUID) -> Payment | None:
    """The payment behind a payer's start link (`next_url` of the REST API), of any organisation.

    Its public id is random (UUID4) and handed only to the payer, so it is the capability, as it
    is in the provider's return and notification: the link names exactly one payment.
    """
    return Payment.objects.filter(public_id=public_id).first()


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


@dataclass(frozen=True, slots=True)
class ProviderPayout:
    """A provider's collective payout whose payments are all this organisation's, succeeded."""

    provider: str
    reference: str
    amount_cents: int  # what reaches the bank
    fee_cents: int
    gross_cents: int  # what the provider's clearing account held for it: amount plus fees
    payment_ids: tuple[int, ...]


def _payout_sources() -> list[tuple[str, PayoutSource]]:
    sources: list[tuple[str, PayoutSource]] = []
    for identifier in settings.PAYMENT_PROVIDERS:
        provider = registry.get_provider(identifier)
        if isinstance(provider, PayoutSource):
            sources.append((identifier, provider))
    return sources


def find_payouts(*, organisation_id: int, references: Iterable[str]) -> dict[str, ProviderPayout]:
    """The payouts of these references (as a bank line's text carries them), by reference.

    A payout is found only when every payment it names is a succeeded payment of this
    organisation at that provider and the report adds up; anything else is not this
    organisation's payout, and the line that names it waits in the clearing queue.
    """
    wanted = list(dict.fromkeys(ref for ref in references if ref))
    found: dict[str, ProviderPayout] = {}
    if not wanted:
        return found
    sources = _payout_sources()
    for reference in wanted:
        for identifier, source in sources:
            try:
                report = source.payout(reference=reference, organisation_id=organisation_id)
            except ProviderUnavailable:
                continue
            if report is None:
                continue
            gross = sum(item.amount_cents for item in report.items)
            fees = sum(item.fee_cents for item in report.items)
            if not report.items or fees != report.fee_cents or gross - fees != report.amount_cents:
                continue
            public_ids = [item.payment_reference for item in report.items]
            try:
                paid = list(
                    Payment.objects.filter(
                        organisation_id=organisation_id,
                        provider=identifier,
                        status=PaymentStatus.SUCCEEDED,
                        public_id__in=public_ids,
                    ).values_list("pk", flat=True)
                )
            except ValidationError:  # a reference that is no payment id of ours
                continue
            if len(paid) != len(set(public_ids)):
                continue
            found[reference] = ProviderPayout(
                provider=identifier,
                reference=report.reference,
                amount_cents=report.amount_cents,
                fee_cents=report.fee_cents,
                gross_cents=gross,
                payment_ids=tuple(sorted(paid)),
            )
            break
    return found


def posting_join_sql(alias: str, reference: str) -> str:
    """SQL joining the payment `alias` whose ledger entries carry `reference` (`payment:<id>`).

    For readers that join ledger lines to their payment in one statement (the finance export).
    On PostgreSQL the reference's id is cast to the uuid it is, so the join probes the unique
    index of `public_id` line by line, in the order of the lines (no hashing of all payments,
    no sort); SQLite stores the id as 32 hex digits, and matches the reference written out.
    """
    table = connection.ops.quote_name(Payment._meta.db_table)
    if connection.vendor == "postgresql":
        # CASE, so that no other reference ("receivable:12") is ever cast.
        return (
            f"{table} {alias} ON {alias}.public_id = CASE WHEN {reference} LIKE 'payment:%%' "
            f"THEN CAST(substr({reference}, 9) AS uuid) END"
        )
    column = f"{alias}.public_id"
    parts = [
        f"substr({column}, {start}, {length})"
        for start, length in ((1, 8), (9, 4), (13, 4), (17, 4), (21, 12))
    ]
    written = "('payment:' || " + " || '-' || ".join(parts) + ")"
    return (
        f"(SELECT {written} AS reference, {alias}.* FROM {table} {alias}) {alias} "  # noqa: S608
        f"ON {alias}.reference = {reference}"
    )
