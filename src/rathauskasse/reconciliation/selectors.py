"""Reads of statements and the clearing queue, scoped by organisation."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet, Sum
from django.utils.timezone import localtime

from rathauskasse.core.errors import NotFound
from rathauskasse.organisations.models import Organisation
from rathauskasse.receivables import selectors as receivable_selectors
from rathauskasse.receivables.kassenzeichen import Scheme
from rathauskasse.receivables.models import Receivable, ReceivableStatus
from rathauskasse.reconciliation import lines, matching, references
from rathauskasse.reconciliation.clearing import suspense_left
from rathauskasse.reconciliation.decisions import OpenItem, Suggestion
from rathauskasse.reconciliation.models import (
    TO_DO,
    ClearingAction,
    ClearingHint,
    ClearingStatus,
    LineAllocation,
    StatementLine,
)

#: How many receivables each source offers the ranking at most.
_POOL = 50


@dataclass(frozen=True, slots=True)
class QueueFilter:
    """What the cash office filters the queue by; empty fields do not filter."""

    status: str = "todo"  # "todo" (open and to review), a ClearingStatus value, or "all"
    amount_from_cents: int | None = None
    amount_to_cents: int | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    name: str = ""
    text: str = ""


def queue(*, organisation: Organisation, where: QueueFilter) -> QuerySet[StatementLine]:
    """Lines of the queue, newest booking first; amounts compare with the line's amount."""
    rows = StatementLine.objects.filter(organisation=organisation).select_related("bank_account")
    if where.status == "todo":
        rows = rows.filter(clearing_status__in=TO_DO)
    elif where.status in ClearingStatus.values:
        rows = rows.filter(clearing_status=where.status)
    else:
        rows = rows.exclude(clearing_status=ClearingStatus.NONE)
    if where.amount_from_cents is not None:
        rows = rows.filter(amount_cents__gte=where.amount_from_cents)
    if where.amount_to_cents is not None:
        rows = rows.filter(amount_cents__lte=where.amount_to_cents)
    if where.date_from is not None:
        rows = rows.filter(booking_date__gte=where.date_from)
    if where.date_to is not None:
        rows = rows.filter(booking_date__lte=where.date_to)
    if where.name.strip():
        name = where.name.strip()
        rows = rows.filter(
            Q(counterparty_name__icontains=name) | Q(ultimate_party_name__icontains=name)
        )
    if where.text.strip():
        text = where.text.strip()
        rows = rows.filter(
            Q(remittance_text__icontains=text)
            | Q(structured_reference__icontains=text)
            | Q(end_to_end_id__icontains=text)
            | Q(reason__icontains=text)
        )
    return rows.order_by("-booking_date", "-id")


def queue_counts(*, organisation: Organisation) -> dict[str, int]:
    """Lines per clearing status (those with nothing to do are not counted)."""
    rows = (
        StatementLine.objects.filter(organisation=organisation)
        .exclude(clearing_status=ClearingStatus.NONE)
        .values("clearing_status")
        .annotate(n=Count("pk"))
    )
    counts = {row["clearing_status"]: row["n"] for row in rows}
    counts["todo"] = sum(counts.get(status, 0) for status in TO_DO)
    return counts


def get_line(*, organisation: Organisation, line_id: int) -> StatementLine:
    try:
        return StatementLine.objects.select_related(
            "statement", "bank_account", "statement__file", "reverses"
        ).get(pk=line_id, organisation=organisation)
    except StatementLine.DoesNotExist:
        raise NotFound("Diese Kontoauszugszeile gibt es nicht.") from None


@dataclass(frozen=True, slots=True)
class Assignment:
    """Money of the line at one receivable, as it stands now (after undos)."""

    receivable: Receivable
    amount_cents: int


@dataclass(frozen=True, slots=True)
class LineDetail:
    line: StatementLine
    suspense_left_cents: int
    assignments: list[Assignment]
    actions: list[ClearingAction]
    #: Assignments that may still be undone: (action id or None for the import's own, text).
    undoable: list[tuple[int | None, str]]


def detail(*, organisation: Organisation, line: StatementLine) -> LineDetail:
    totals = (
        LineAllocation.objects.filter(line=line)
        .values("receivable_id")
        .annotate(total=Sum("amount_cents"))
    )
    held = {row["receivable_id"]: row["total"] for row in totals if row["total"]}
    receivables = {
        r.pk: r
        for r in receivable_selectors.receivables(organisation=organisation).filter(
            pk__in=list(held)
        )
    }
    actions = list(line.actions.order_by("id"))
    undone_ids = {a.undoes_id for a in actions if a.kind == "undone"}
    undoable: list[tuple[int | None, str]] = []
    import_undone = any(a.kind == "undone" and a.undoes_id is None for a in actions)
    if (
        line.reverses_id is None
        and not import_undone
        and LineAllocation.objects.filter(
            line=line, journal_entry_id=line.journal_entry_id, amount_cents__gt=0
        ).exists()
    ):
        undoable.append((None, "Buchung beim Import"))
    undoable.extend(
        (action.pk, f"Zuordnung vom {localtime(action.created_at):%d.%m.%Y %H:%M}")
        for action in actions
        if action.kind == "assigned" and action.pk not in undone_ids
    )
    return LineDetail(
        line=line,
        suspense_left_cents=suspense_left(line),
        assignments=[
            Assignment(receivable=receivables[rid], amount_cents=cents)
            for rid, cents in sorted(held.items())
            if rid in receivables
        ],
        actions=actions,
        undoable=undoable,
    )


def as_statement_line(row: StatementLine) -> lines.StatementLine:
    """The stored line as the matcher's functions take it."""
    return lines.StatementLine(
        statement=lines.StatementInfo(
            format=row.statement.format,
            statement_id=row.statement.statement_id,
            account_iban=row.bank_account.iban,
        ),
        entry_index=row.entry_index,
        transaction_index=row.transaction_index,
        amount_cents=row.amount_cents,
        currency=row.currency,
        booking_date=row.booking_date,
        value_date=row.value_date,
        reversal=row.reversal,
        return_reason=row.return_reason,
        remittance_text=row.remittance_text,
        structured_reference=row.structured_reference,
        end_to_end_id=row.end_to_end_id,
        customer_reference=row.customer_reference,
        mandate_id=row.mandate_id,
        counterparty_name=row.counterparty_name,
        counterparty_iban=row.counterparty_iban,
        ultimate_party_name=row.ultimate_party_name,
    )


def _open_items(organisation: Organisation, receivable_ids: Iterable[int]) -> list[OpenItem]:
    kz = list(
        Receivable.objects.filter(
            organisation=organisation, pk__in=list(receivable_ids)
        ).values_list("kassenzeichen", flat=True)
    )
    rows = receivable_selectors.open_items(organisation=organisation, kassenzeichen=kz)
    return [
        OpenItem(
            receivable_id=row.receivable_id,
            kassenzeichen=row.kassenzeichen,
            open_cents=row.open_cents,
            status=row.status,
            debtor_name=row.debtor_name,
            due_date=row.due_date,
            total_cents=row.total_cents,
        )
        for row in rows.values()
    ]


def suggestions(
    *, organisation: Organisation, line: StatementLine, limit: int = 5
) -> list[Suggestion]:
    """Receivables the line may belong to, best first, each with its reasons (German).

    The pool: what the line's texts name (also readings the scheme did not confirm), the
    receivables its clearing hints name, open receivables of the same amount, of a debtor whose
    name shares the payer's longest name part, and of debtors who paid from the same IBAN before.
    """
    if line.amount_cents <= 0:
        return []
    statement_line = as_statement_line(line)
    scheme = Scheme.of(organisation)
    read = references.readings(statement_line, scheme)
    open_rows = Receivable.objects.filter(organisation=organisation, status=ReceivableStatus.OPEN)
    pool: set[int] = set(
        Receivable.objects.filter(
            organisation=organisation,
            kassenzeichen__in=[*references.lookup_keys(read), *(str(c) for c in line.candidates)],
        ).values_list("pk", flat=True)
    )
    pool |= set(ClearingHint.objects.filter(line=line).values_list("receivable_id", flat=True))
    pool |= set(
        open_rows.filter(amount_cents=line.amount_cents)
        .order_by("due_date", "pk")
        .values_list("pk", flat=True)[:_POOL]
    )
    payer = line.counterparty_name or line.ultimate_party_name
    parts = sorted(matching.name_tokens(payer), key=len, reverse=True)
    if parts and len(parts[0]) >= 3:
        pool |= set(
            open_rows.filter(debtor_name__icontains=parts[0])
            .order_by("due_date", "pk")
            .values_list("pk", flat=True)[:_POOL]
        )
    known: dict[str, set[int]] = {}
    if line.counterparty_iban:
        paid_before = set(
            LineAllocation.objects.filter(
                line__organisation=organisation,
                line__counterparty_iban=line.counterparty_iban,
                amount_cents__gt=0,
            )
            .exclude(line=line)
            .values_list("receivable__debtor_name", flat=True)[:_POOL]
        )
        same_debtor = set(
            open_rows.filter(debtor_name__in=paid_before).values_list("pk", flat=True)[:_POOL]
        )
        known[line.counterparty_iban] = same_debtor
        pool |= same_debtor
    return matching.suggest(
        statement_line,
        _open_items(organisation, pool),
        known_ibans=known,
        limit=limit,
        readings=read,
    )
