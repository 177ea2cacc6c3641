"""Reads of the ledger: balances, open items, and the integrity check."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import Count, F, Sum

from rathauskasse.ledger.models import Account, AccountKind, JournalEntry, JournalLine


def open_item_balances(*, organisation_id: int, open_item_ids: Iterable[int]) -> dict[int, int]:
    """Balance (cents, debit positive) of the receivables account per open item."""
    ids = list(open_item_ids)
    balances = dict.fromkeys(ids, 0)
    if not ids:
        return balances
    # Plain SQL built once per number of ids: every payment's creation asks this (decision 0011).
    with connection.cursor() as cursor:
        cursor.execute(
            _balances_sql(len(ids)), [*ids, organisation_id, str(AccountKind.RECEIVABLES)]
        )
        balances.update({int(item): int(balance) for item, balance in cursor.fetchall()})
    return balances


@functools.cache
def _balances_sql(count: int) -> str:
    quote = connection.ops.quote_name
    lines, accounts = quote(JournalLine._meta.db_table), quote(Account._meta.db_table)
    return (
        f"SELECT l.open_item_id, SUM(l.amount_cents) FROM {lines} l "  # noqa: S608 - names are ours
        f"JOIN {accounts} a ON a.id = l.account_id "
        f"WHERE l.open_item_id IN ({', '.join(['%s'] * count)}) "
        "AND a.organisation_id = %s AND a.kind = %s GROUP BY l.open_item_id"
    )


def open_item_balance_sql(id_column: str) -> str:
    """SQL for the balance of the open item whose id is in `id_column` of the outer statement.

    Open item ids are receivable ids, unique across organisations, and only lines on the
    receivables account carry one (`check_integrity` verifies this), so no join is needed.
    """
    table = connection.ops.quote_name(JournalLine._meta.db_table)
    return (
        f"SELECT COALESCE(SUM(l.amount_cents), 0) FROM {table} l WHERE l.open_item_id = {id_column}"  # noqa: S608
    )


def open_item_balance(*, organisation_id: int, open_item_id: int) -> int:
    return open_item_balances(organisation_id=organisation_id, open_item_ids=[open_item_id])[
        open_item_id
    ]


def account_balances(*, organisation_id: int) -> list[tuple[Account, int]]:
    accounts = Account.objects.filter(organisation_id=organisation_id).annotate(
        balance=Sum("lines__amount_cents")
    )
    return [(account, account.balance or 0) for account in accounts]


def kind_balances(*, organisation_id: int) -> dict[str, int]:
    """Balance (cents, debit positive) per account kind: all budget lines' revenue as one."""
    rows = (
        JournalLine.objects.filter(account__organisation_id=organisation_id)
        .values("account__kind")
        .annotate(balance=Sum("amount_cents"))
    )
    balances = dict.fromkeys(AccountKind.values, 0)
    balances.update({row["account__kind"]: row["balance"] or 0 for row in rows})
    return balances


@dataclass
class IntegrityReport:
    entries: int = 0
    lines: int = 0
    problems: list[str] = field(default_factory=list)
    trial_balance_cents: dict[int, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems


def check_integrity(*, organisation_id: int | None = None) -> IntegrityReport:
    """Verify every entry (≥ 2 lines, sums to zero, one organisation) and the trial balance."""
    report = IntegrityReport()
    entries = JournalEntry.objects.all()
    lines = JournalLine.objects.all()
    if organisation_id is not None:
        entries = entries.filter(organisation_id=organisation_id)
        lines = lines.filter(entry__organisation_id=organisation_id)
    report.entries = entries.count()
    report.lines = lines.count()

    for row in (
        entries.annotate(total=Sum("lines__amount_cents"), n=Count("lines"))
        .filter(n__lt=2)
        .values("id", "n")
    ):
        report.problems.append(f"Buchung {row['id']} hat nur {row['n']} Zeile(n).")
    for row in (
        entries.annotate(total=Sum("lines__amount_cents")).exclude(total=0).values("id", "total")
    ):
        report.problems.append(f"Buchung {row['id']} ist nicht ausgeglichen ({row['total']} Cent).")
    for row in lines.exclude(account__organisation_id=F("entry__organisation_id")).values(
        "id", "entry_id"
    ):
        report.problems.append(
            f"Zeile {row['id']} von Buchung {row['entry_id']} bucht auf ein Konto einer anderen "
            "Organisation."
        )
    for row in (
        lines.exclude(account__kind=AccountKind.RECEIVABLES)
        .exclude(open_item_id=None)
        .values("id", "entry_id")
    ):
        report.problems.append(
            f"Zeile {row['id']} von Buchung {row['entry_id']} trägt einen offenen Posten, "
            "bucht aber nicht auf Forderungen."
        )
    for row in lines.values("entry__organisation_id").annotate(total=Sum("amount_cents")):
        org, total = row["entry__organisation_id"], row["total"]
        report.trial_balance_cents[org] = total
        if total != 0:
            report.problems.append(f"Die Summenbilanz von Organisation {org} ergibt {total} Cent.")
    return report


def receivable_movements_sql(*, organisation_id: int) -> tuple[str, list[object]]:
    """SQL (and its parameters) for every line on the organisation's receivables account.

    Columns: line_id, entry_id, amount_cents (debit positive), open_item_id, booking_date,
    created_at, kind (of the entry), reversed_kind (of the entry a reversal reverses, else
    NULL), text, reference. For readers that stream millions of lines (the finance export) and
    wrap this in a statement of their own; the receivables account is the one where every
    movement of an open item is booked.
    """
    quote = connection.ops.quote_name
    line, entry, account = (
        quote(model._meta.db_table) for model in (JournalLine, JournalEntry, Account)
    )
    sql = (
        "SELECT l.id AS line_id, l.entry_id AS entry_id, l.amount_cents AS amount_cents, "  # noqa: S608
        "l.open_item_id AS open_item_id, e.booking_date AS booking_date, "
        "e.created_at AS created_at, e.kind AS kind, r.kind AS reversed_kind, e.text AS text, "
        "e.reference AS reference "
        f"FROM {line} l JOIN {account} a ON a.id = l.account_id "
        f"JOIN {entry} e ON e.id = l.entry_id "
        f"LEFT JOIN {entry} r ON r.id = e.reverses_id "
        "WHERE a.organisation_id = %s AND a.kind = %s"
    )
    return sql, [organisation_id, AccountKind.RECEIVABLES.value]


def receivable_movement_cents(
    *, organisation_id: int, until: dt.date | None = None, kinds: Iterable[str] | None = None
) -> int:
    """The net movement (debit positive) of the receivables account up to `until`."""
    lines = JournalLine.objects.filter(
        account__organisation_id=organisation_id, account__kind=AccountKind.RECEIVABLES
    )
    if until is not None:
        lines = lines.filter(entry__booking_date__lte=until)
    if kinds is not None:
        lines = lines.filter(entry__kind__in=list(kinds))
    return int(lines.aggregate(total=Sum("amount_cents"))["total"] or 0)


def nonzero_open_item_balances(*, organisation_id: int) -> dict[int, int]:
    """Balance (cents, debit positive) of every open item of the organisation that is not 0."""
    rows = (
        JournalLine.objects.filter(
            account__organisation_id=organisation_id,
            account__kind=AccountKind.RECEIVABLES,
            open_item_id__isnull=False,
        )
        .values("open_item_id")
        .annotate(balance=Sum("amount_cents"))
        .exclude(balance=0)
        .values_list("open_item_id", "balance")
    )
    return {int(item): int(balance) for item, balance in rows}
