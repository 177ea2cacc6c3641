"""Posting to the ledger.

Invariants kept here (and, on PostgreSQL, again by triggers in the database):
- every entry has at least two lines, none of them zero, and its lines sum to zero;
- an entry and its lines are never changed or deleted; a correction is a reversal entry, and an
  entry is reversed at most once;
- the same business event is posted at most once: entries carry an idempotency key that is
  unique per organisation, and posting an existing key returns the existing entry;
- every line's account belongs to the entry's organisation.

`post_many` writes a batch of new entries (an open-item import) with the same checks as `post`:
each entry balanced, accounts of the organisation, one idempotency key per event (the unique
index refuses a key that exists); on PostgreSQL all lines arrive in one statement, so the balance
trigger checks every entry of the batch.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import connection, transaction

from rathauskasse.core import audit, clock, sql
from rathauskasse.core.errors import DomainError
from rathauskasse.ledger.models import Account, AccountKind, EntryKind, JournalEntry, JournalLine
from rathauskasse.ledger.rules import AccountRef, PostingLine
from rathauskasse.organisations.models import BudgetLine


class UnbalancedEntry(DomainError):
    code = "ledger_unbalanced"


class AlreadyReversed(DomainError):
    code = "ledger_already_reversed"
    status = 409


_ACCOUNT_NAMES = {
    AccountKind.RECEIVABLES: "Forderungen",
    AccountKind.PROVIDER_CLEARING: "Verrechnung Zahlungsdienst",
    AccountKind.BANK: "Bank",
    AccountKind.SUSPENSE: "Verwahrgeld (ungeklärte Eingänge)",
    AccountKind.FEES: "Gebühren Zahlungsverkehr",
}


def _account_name(ref: AccountRef, budget_lines: dict[int, BudgetLine]) -> str:
    if ref.kind == AccountKind.REVENUE and ref.budget_line_id in budget_lines:
        line = budget_lines[ref.budget_line_id]
        return f"Erträge {line.code} {line.name}"
    if ref.kind == AccountKind.REVENUE:
        return f"Erträge Haushaltsstelle #{ref.budget_line_id}"
    name = _ACCOUNT_NAMES[ref.kind]
    return f"{name} {ref.qualifier}" if ref.qualifier else name


#: Account ids by (organisation, key). Accounts are never deleted, so an id stays right once its
#: row is committed; ids enter the cache only after the transaction that saw them commits.
_account_ids: dict[tuple[int, str], int] = {}


def forget_cached_accounts() -> None:
    """Empty the account cache (tests that truncate tables call this)."""
    _account_ids.clear()


def resolve_accounts(*, organisation_id: int, refs: Sequence[AccountRef]) -> dict[str, int]:
    """Account ids by key, creating missing accounts (safe under concurrency)."""
    wanted = {ref.key: ref for ref in refs}
    cached = {key: _account_ids.get((organisation_id, key)) for key in wanted}
    if all(cached.values()):
        return {key: value for key, value in cached.items() if value is not None}
    found = dict(
        Account.objects.filter(organisation_id=organisation_id, key__in=wanted).values_list(
            "key", "id"
        )
    )
    missing = [ref for key, ref in wanted.items() if key not in found]
    if missing:
        budget_lines = BudgetLine.objects.in_bulk(
            [ref.budget_line_id for ref in missing if ref.budget_line_id is not None]
        )
        Account.objects.bulk_create(
            [
                Account(
                    organisation_id=organisation_id,
                    key=ref.key,
                    kind=ref.kind,
                    name=_account_name(ref, budget_lines),
                    budget_line_id=ref.budget_line_id,
                )
                for ref in missing
            ],
            ignore_conflicts=True,
        )
        found = dict(
            Account.objects.filter(organisation_id=organisation_id, key__in=wanted).values_list(
                "key", "id"
            )
        )
    transaction.on_commit(
        lambda: _account_ids.update({(organisation_id, k): v for k, v in found.items()})
    )
    return found


def check_balanced(lines: Sequence[PostingLine]) -> None:
    if len(lines) < 2:
        raise UnbalancedEntry("Eine Buchung braucht mindestens zwei Zeilen.")
    if any(line.amount_cents == 0 for line in lines):
        raise UnbalancedEntry("Eine Buchungszeile über 0 Cent ist nicht erlaubt.")
    total = sum(line.amount_cents for line in lines)
    if total != 0:
        raise UnbalancedEntry(f"Soll und Haben weichen um {total} Cent voneinander ab.")


def post(
    *,
    organisation_id: int,
    kind: EntryKind,
    text: str,
    lines: Sequence[PostingLine],
    idempotency_key: str,
    actor: audit.Actor,
    reference: str = "",
    booking_date: dt.date | None = None,
    assume_new: bool = False,
) -> JournalEntry:
    """Write one balanced entry, or return the entry already posted under `idempotency_key`.

    `assume_new` skips the look-up for callers that hold the only right to post this event
    (e.g. the one transition to "succeeded"); the unique key still refuses a duplicate.
    """
    check_balanced(lines)
    with transaction.atomic(savepoint=False):
        if not assume_new:
            existing: JournalEntry | None = JournalEntry.objects.filter(
                organisation_id=organisation_id, idempotency_key=idempotency_key
            ).first()
            if existing is not None:
                return existing
        accounts = resolve_accounts(
            organisation_id=organisation_id, refs=[line.account for line in lines]
        )
        return _write(
            organisation_id=organisation_id,
            kind=kind,
            text=text,
            lines=[
                _Row(accounts[line.account.key], line.amount_cents, line.open_item_id)
                for line in lines
            ],
            idempotency_key=idempotency_key,
            actor=actor,
            reference=reference,
            booking_date=booking_date,
            reverses=None,
        )


@dataclass(frozen=True, slots=True)
class _Row:
    account_id: int
    amount_cents: int
    open_item_id: int | None


def _write(
    *,
    organisation_id: int,
    kind: EntryKind,
    text: str,
    lines: Sequence[_Row],
    idempotency_key: str,
    actor: audit.Actor,
    reference: str,
    booking_date: dt.date | None,
    reverses: JournalEntry | None,
) -> JournalEntry:
    values = {
        "organisation_id": organisation_id,
        "booking_date": booking_date or clock.today(),
        "created_at": clock.now(),
        "kind": kind,
        "text": text[:200],
        "reference": reference,
        "idempotency_key": idempotency_key,
        "reverses_id": reverses.pk if reverses is not None else None,
        "actor_label": actor.label,
    }
    entry_id = sql.insert_with_children(
        JournalEntry,
        values,
        child=JournalLine,
        link="entry_id",
        rows=[
            {
                "account_id": line.account_id,
                "amount_cents": line.amount_cents,
                "open_item_id": line.open_item_id,
            }
            for line in lines
        ],
    )
    entry: JournalEntry = JournalEntry.from_db(
        connection.alias, ["id", *values], [entry_id, *values.values()]
    )
    return entry


@dataclass(frozen=True, slots=True)
class NewEntry:
    """One entry of a `post_many` batch."""

    kind: EntryKind
    text: str
    lines: Sequence[PostingLine]
    idempotency_key: str
    reference: str = ""


_ENTRY_COLUMNS = (
    "id",
    "organisation_id",
    "booking_date",
    "created_at",
    "kind",
    "text",
    "reference",
    "idempotency_key",
    "reverses_id",
    "actor_label",
)
_LINE_COLUMNS = ("entry_id", "account_id", "amount_cents", "open_item_id")


def post_many(
    *,
    organisation_id: int,
    entries: Sequence[NewEntry],
    actor: audit.Actor,
    booking_date: dt.date | None = None,
) -> list[int]:
    """Write a batch of new balanced entries of one organisation; returns their ids in order.

    For events that are new by construction (receivables created in the same transaction), so
    there is no look-up of existing keys: a key given twice is refused here, and a key that
    exists already makes the unique index refuse the whole batch. Nothing is written unless
    every entry balances. Each entry's rows are exactly what `post` writes for it.
    """
    if not entries:
        return []
    keys = [entry.idempotency_key for entry in entries]
    if len(set(keys)) != len(keys):
        raise ValueError("post_many got the same idempotency key twice")
    for entry in entries:
        check_balanced(entry.lines)
    with transaction.atomic(savepoint=False):
        refs = {line.account.key: line.account for entry in entries for line in entry.lines}
        accounts = resolve_accounts(organisation_id=organisation_id, refs=list(refs.values()))
        ids = sql.reserve_ids(JournalEntry, len(entries))
        day, now = booking_date or clock.today(), clock.now()
        sql.copy_rows(
            JournalEntry,
            _ENTRY_COLUMNS,
            (
                (
                    entry_id,
                    organisation_id,
                    day,
                    now,
                    str(entry.kind),
                    entry.text[:200],
                    entry.reference,
                    entry.idempotency_key,
                    None,
                    actor.label,
                )
                for entry_id, entry in zip(ids, entries, strict=True)
            ),
        )
        sql.copy_rows(
            JournalLine,
            _LINE_COLUMNS,
            (
                (entry_id, accounts[line.account.key], line.amount_cents, line.open_item_id)
                for entry_id, entry in zip(ids, entries, strict=True)
                for line in entry.lines
            ),
        )
        _forget_plans_after_batch()
    return ids


def _forget_plans_after_batch() -> None:
    """Have PostgreSQL plan the balance trigger afresh for this connection's next posting.

    The trigger's query is planned once per connection, for the size of the statement it first
    checks after a change of the tables' statistics. After a batch of 100,000 lines that plan
    reads the whole journal, and every later posting on this (persistent) connection, such as a
    payment's two lines, would read it too until the statistics change.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("DISCARD PLANS")


@transaction.atomic
def reverse(
    *,
    entry: JournalEntry,
    text: str,
    actor: audit.Actor,
    booking_date: dt.date | None = None,
) -> JournalEntry:
    """Post the exact opposite of `entry` (Storno). An entry is reversed at most once."""
    locked = JournalEntry.objects.select_for_update().get(pk=entry.pk)
    if JournalEntry.objects.filter(reverses=locked).exists():
        raise AlreadyReversed("Diese Buchung ist bereits storniert.")
    if locked.kind == EntryKind.REVERSAL:
        raise AlreadyReversed("Ein Storno wird nicht storniert; buchen Sie den Vorgang neu.")
    lines = [
        _Row(line.account_id, -line.amount_cents, line.open_item_id) for line in locked.lines.all()
    ]
    reversal = _write(
        organisation_id=locked.organisation_id,
        kind=EntryKind.REVERSAL,
        text=text,
        lines=lines,
        idempotency_key=f"reversal:{locked.pk}",
        actor=actor,
        reference=locked.reference,
        booking_date=booking_date,
        reverses=locked,
    )
    audit.record(
        actor=actor,
        action="journal_entry.reversed",
        obj=reversal,
        organisation_id=locked.organisation_id,
        before={"entry_id": locked.pk},
        after={"reversal_id": reversal.pk, "text": text},
    )
    return reversal
