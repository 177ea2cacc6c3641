"""Reads of receivables, scoped by organisation; open amounts come from the ledger."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import Count, Q, QuerySet

from rathauskasse.catalogue.models import Service
from rathauskasse.core import clock, sql
from rathauskasse.core.errors import NotFound
from rathauskasse.ledger import selectors as ledger_selectors
from rathauskasse.ledger.models import AccountKind
from rathauskasse.organisations.models import Organisation
from rathauskasse.receivables import clearing
from rathauskasse.receivables.kassenzeichen import Scheme
from rathauskasse.receivables.models import Notice, Receivable, ReceivableStatus


def receivables(*, organisation: Organisation) -> QuerySet[Receivable]:
    return Receivable.objects.filter(organisation=organisation).select_related(
        "organisation", "department"
    )


def open_receivables(*, organisation: Organisation) -> QuerySet[Receivable]:
    return receivables(organisation=organisation).filter(status=ReceivableStatus.OPEN)


@dataclass(frozen=True, slots=True)
class OpenSummary:
    open_count: int
    overdue_count: int
    open_cents: int  # the receivables account's balance: what all debtors owe together
    suspense_cents: int  # money received and not yet assigned to a receivable


def open_summary(*, organisation: Organisation) -> OpenSummary:
    """The figures the back office's overview shows the cash office."""
    today = clock.today()
    counts = open_receivables(organisation=organisation).aggregate(
        open=Count("pk"), overdue=Count("pk", filter=Q(due_date__lt=today))
    )
    balances = ledger_selectors.kind_balances(organisation_id=organisation.pk)
    return OpenSummary(
        open_count=counts["open"],
        overdue_count=counts["overdue"],
        open_cents=balances[AccountKind.RECEIVABLES],
        suspense_cents=-balances[AccountKind.SUSPENSE],
    )


def get_receivable(*, organisation: Organisation, receivable_id: int) -> Receivable:
    try:
        return receivables(organisation=organisation).get(pk=receivable_id)
    except Receivable.DoesNotExist:
        raise NotFound("Diese Forderung gibt es nicht.") from None


def find_by_kassenzeichen(*, organisation: Organisation, text: str) -> Receivable:
    """Look up what someone typed; raises `InvalidKassenzeichen` (why) or `NotFound`."""
    canonical = Scheme.of(organisation).validate(text)
    try:
        return receivables(organisation=organisation).get(kassenzeichen=canonical)
    except Receivable.DoesNotExist:
        raise NotFound(
            "Zu diesem Kassenzeichen gibt es keine Forderung. Bitte prüfen Sie Ihre Eingabe.",
            field="kassenzeichen",
        ) from None


def open_amounts(*, organisation: Organisation, receivable_ids: Iterable[int]) -> dict[int, int]:
    """Open amount in cents per receivable: its ledger balance (negative when overpaid)."""
    return ledger_selectors.open_item_balances(
        organisation_id=organisation.pk, open_item_ids=receivable_ids
    )


def open_amount(*, receivable: Receivable) -> int:
    return ledger_selectors.open_item_balance(
        organisation_id=receivable.organisation_id, open_item_id=receivable.pk
    )


def lock_for_payment(
    *,
    organisation: Organisation,
    receivable_ids: Sequence[int],
    department_ids: Sequence[int] | None = None,
) -> list[Receivable]:
    """The organisation's receivables of `receivable_ids` (of `department_ids` only, when given),
    with their service, locked `FOR UPDATE` in id order for a payment of them.

    Call it in the transaction that creates the payment (`create_payment(..., locked=True)`).
    One statement, built once per number of ids (decision 0011): the API's hot path.
    """
    ids, departments = list(receivable_ids), list(department_ids or [])
    if not ids:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            _lock_for_payment_sql(len(ids), len(departments)),
            [organisation.pk, *ids, *departments],
        )
        rows = cursor.fetchall()
    width = len(Receivable._meta.concrete_fields)
    service_field = Receivable._meta.get_field("service")
    found = []
    for row in rows:
        receivable = sql.instance(Receivable, row[:width])
        service = sql.instance(Service, row[width:]) if row[width] is not None else None
        service_field.set_cached_value(receivable, service)
        Receivable._meta.get_field("organisation").set_cached_value(receivable, organisation)
        found.append(receivable)
    return found


@functools.cache
def _lock_for_payment_sql(ids: int, departments: int) -> str:
    quote = connection.ops.quote_name
    lock = " FOR UPDATE OF r" if connection.features.has_select_for_update_of else ""
    in_departments = (
        f" AND r.department_id IN ({', '.join(['%s'] * departments)})" if departments else ""
    )
    return (
        f"SELECT {sql.columns_of(Receivable, 'r')}, {sql.columns_of(Service, 's')} "  # noqa: S608 - names are ours
        f"FROM {quote(Receivable._meta.db_table)} r "
        f"LEFT JOIN {quote(Service._meta.db_table)} s ON s.id = r.service_id "
        f"WHERE r.organisation_id = %s AND r.id IN ({', '.join(['%s'] * ids)}){in_departments} "
        f"ORDER BY r.id{lock}"
    )


def find_by_pay_token(*, organisation: Organisation, token: str) -> Receivable:
    """The receivable behind a pay link (`/p/<token>`) of this organisation."""
    try:
        return receivables(organisation=organisation).get(pay_token=token)
    except Receivable.DoesNotExist:
        raise NotFound("Diesen Zahlungslink gibt es nicht.") from None


def with_details(*, organisation: Organisation, receivable_ids: Iterable[int]) -> list[Receivable]:
    """The receivables with department and service loaded, in the order of `receivable_ids`."""
    ids = list(receivable_ids)
    found = (
        receivables(organisation=organisation)
        .filter(pk__in=ids)
        .select_related("department", "service")
    )
    by_id = {r.pk: r for r in found}
    return [by_id[pk] for pk in ids if pk in by_id]


def under_clearing(receivable: Receivable) -> bool:
    """Money for it may be on its way (an unfinished payment; later a bank line being cleared)."""
    return receivable.pk in clearing.under_clearing_ids(
        organisation_id=receivable.organisation_id, receivable_ids=[receivable.pk]
    )


def notices(*, organisation: Organisation) -> QuerySet[Notice]:
    return Notice.objects.filter(organisation=organisation).select_related("receivable")


def notices_of(*, receivable: Receivable) -> QuerySet[Notice]:
    return Notice.objects.filter(
        organisation_id=receivable.organisation_id, receivable=receivable
    ).order_by("sequence")


def taken_kassenzeichen(
    *, organisation: Organisation, candidates: Iterable[str], chunk: int = 5000
) -> dict[str, tuple[int, dt.datetime]]:
    """Which of the canonical Kassenzeichen `candidates` stand on a receivable already.

    Returns (receivable id, created at) per taken Kassenzeichen. On PostgreSQL one query with the
    candidates as one array parameter; elsewhere one query per `chunk` of them.
    """
    wanted = list(dict.fromkeys(candidates))
    if not wanted:
        return {}
    taken: dict[str, tuple[int, dt.datetime]] = {}
    if connection.vendor == "postgresql":
        # `= ANY(array)`: 100,000 placeholders would cost more to send than to look up.
        table = connection.ops.quote_name(Receivable._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT kassenzeichen, id, created_at FROM {table} "  # noqa: S608 - our names
                "WHERE organisation_id = %s AND kassenzeichen = ANY(%s)",
                [organisation.pk, wanted],
            )
            return {kz: (pk, created) for kz, pk, created in cursor.fetchall()}
    for start in range(0, len(wanted), chunk):
        rows = Receivable.objects.filter(
            organisation=organisation, kassenzeichen__in=wanted[start : start + chunk]
        ).values_list("kassenzeichen", "id", "created_at")
        taken.update({kz: (pk, created) for kz, pk, created in rows})
    return taken


def postal_order(country: str, postcode: str) -> tuple[bool, str, bool, str]:
    """Where a letter goes in a print run: German addresses by postcode (as bulk mail is handed
    in), then those abroad by country and postcode, letters without a postcode last."""
    return (country != "DE", country, not postcode, postcode)


@dataclass(frozen=True, slots=True)
class OpenItemRow:
    """A receivable with its open amount, as a bank statement's matcher needs it."""

    receivable_id: int
    kassenzeichen: str
    open_cents: int
    status: str
    debtor_name: str
    due_date: dt.date
    total_cents: int


def open_items(
    *, organisation: Organisation, kassenzeichen: Iterable[str], lock: bool = False
) -> dict[str, OpenItemRow]:
    """The receivables of these canonical Kassenzeichen with their open amounts (the ledger
    balance, computed in SQL), in one query, whatever their status.

    `lock=True` (inside the caller's transaction) first locks the receivables in id order, as
    payments do, so that a posting to them running elsewhere has finished before the balance is
    read, and none can start until this transaction ends.
    """
    wanted = list(dict.fromkeys(kassenzeichen))
    if not wanted:
        return {}
    table = connection.ops.quote_name(Receivable._meta.db_table)
    balance = ledger_selectors.open_item_balance_sql("r.id")
    found: dict[str, OpenItemRow] = {}
    chunk = 100_000 if connection.vendor == "postgresql" else 5000
    with connection.cursor() as cursor:
        for start in range(0, len(wanted), chunk):
            part = wanted[start : start + chunk]
            params: list[Any]
            if connection.vendor == "postgresql":
                where, params = "r.kassenzeichen = ANY(%s)", [part]
            else:
                where, params = f"r.kassenzeichen IN ({', '.join(['%s'] * len(part))})", [*part]
            if lock and connection.features.has_select_for_update:
                cursor.execute(
                    f"SELECT r.id FROM {table} r WHERE r.organisation_id = %s AND {where} "  # noqa: S608 - names are ours
                    "ORDER BY r.id FOR UPDATE",
                    [organisation.pk, *params],
                )
            # A statement of its own after the lock: it sees what committed while we waited.
            cursor.execute(
                f"SELECT r.id, r.kassenzeichen, ({balance}), r.status, r.debtor_name, "  # noqa: S608
                f"r.due_date, r.amount_cents FROM {table} r "
                f"WHERE r.organisation_id = %s AND {where}",
                [organisation.pk, *params],
            )
            due_date = Receivable._meta.get_field("due_date")
            for pk, kz, open_cents, status, name, due, total in cursor.fetchall():
                found[kz] = OpenItemRow(
                    receivable_id=int(pk),
                    kassenzeichen=kz,
                    open_cents=int(open_cents),
                    status=status,
                    debtor_name=name,
                    due_date=due_date.to_python(due),
                    total_cents=int(total),
                )
    return found
