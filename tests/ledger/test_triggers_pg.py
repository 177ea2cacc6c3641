"""On PostgreSQL the database itself refuses unbalanced and changed postings."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from rathauskasse.ledger import rules, services
from rathauskasse.ledger.models import EntryKind, JournalEntry, JournalLine
from rathauskasse.organisations.models import BudgetLine
from tests import factories

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def _entry(budget_line: BudgetLine) -> JournalEntry:
    return services.post(
        organisation_id=budget_line.organisation_id,
        kind=EntryKind.RECEIVABLE_CREATED,
        text="t",
        lines=rules.receivable_created(open_item_id=1, lines=[(budget_line.pk, 100)]),
        idempotency_key="t1",
        actor=factories.ACTOR,
    )


def _bare_entry(budget_line: BudgetLine, key: str) -> JournalEntry:
    """An entry written behind the services' back, so only the database can refuse it."""
    entry: JournalEntry = JournalEntry.objects.create(
        organisation_id=budget_line.organisation_id,
        booking_date="2026-01-01",
        created_at="2026-01-01T00:00Z",
        kind=EntryKind.RECEIVABLE_CREATED,
        text="x",
        idempotency_key=key,
        actor_label="x",
    )
    return entry


def _execute(sql: str, params: list[object]) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(sql, params)


def test_update_of_a_line_is_refused(budget_line: BudgetLine) -> None:
    entry = _entry(budget_line)
    with pytest.raises(DatabaseError, match="append-only"):
        _execute("UPDATE ledger_journalline SET amount_cents = 1 WHERE entry_id = %s", [entry.pk])


def test_delete_of_an_entry_is_refused(budget_line: BudgetLine) -> None:
    entry = _entry(budget_line)
    with pytest.raises(DatabaseError, match="append-only"):
        _execute("DELETE FROM ledger_journalline WHERE entry_id = %s", [entry.pk])
    with pytest.raises(DatabaseError, match="append-only"):
        _execute("UPDATE ledger_journalentry SET text = 'x' WHERE id = %s", [entry.pk])


def test_unbalanced_entry_is_refused(budget_line: BudgetLine) -> None:
    entry = _entry(budget_line)
    account_id = entry.lines.first().account_id  # type: ignore[union-attr]
    with pytest.raises(DatabaseError, match="unbalanced by 5 cents"), transaction.atomic():
        other = _bare_entry(budget_line, "bad")
        JournalLine.objects.bulk_create(
            [
                JournalLine(entry=other, account_id=account_id, amount_cents=10),
                JournalLine(entry=other, account_id=account_id, amount_cents=-5),
            ]
        )


def test_a_single_line_is_refused(budget_line: BudgetLine) -> None:
    entry = _entry(budget_line)
    account_id = entry.lines.first().account_id  # type: ignore[union-attr]
    with pytest.raises(DatabaseError, match="1 line"), transaction.atomic():
        other = _bare_entry(budget_line, "single")
        JournalLine.objects.create(entry=other, account_id=account_id, amount_cents=10)


def test_lines_added_to_an_existing_entry_are_refused(budget_line: BudgetLine) -> None:
    entry = _entry(budget_line)
    account_id = entry.lines.first().account_id  # type: ignore[union-attr]
    with pytest.raises(DatabaseError, match="unbalanced by 7 cents"), transaction.atomic():
        JournalLine.objects.create(entry=entry, account_id=account_id, amount_cents=7)


def test_entry_without_lines_is_refused_at_commit(budget_line: BudgetLine) -> None:
    with pytest.raises(DatabaseError, match="0 line"), transaction.atomic():
        _bare_entry(budget_line, "empty")
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def test_lines_on_accounts_of_another_organisation_are_refused(budget_line: BudgetLine) -> None:
    entry = _entry(budget_line)
    other_org = factories.organisation()
    other_line = factories.budget_line(other_org)
    foreign = services.post(
        organisation_id=other_org.pk,
        kind=EntryKind.RECEIVABLE_CREATED,
        text="t",
        lines=rules.receivable_created(open_item_id=1, lines=[(other_line.pk, 100)]),
        idempotency_key="t2",
        actor=factories.ACTOR,
    )
    own_account = entry.lines.first().account_id  # type: ignore[union-attr]
    foreign_account = foreign.lines.first().account_id  # type: ignore[union-attr]
    with pytest.raises(DatabaseError, match="another organisation"), transaction.atomic():
        mixed = _bare_entry(budget_line, "mixed")
        JournalLine.objects.bulk_create(
            [
                JournalLine(entry=mixed, account_id=own_account, amount_cents=10),
                JournalLine(entry=mixed, account_id=foreign_account, amount_cents=-10),
            ]
        )


def test_audit_log_and_payment_events_are_append_only_too(budget_line: BudgetLine) -> None:
    org = budget_line.organisation
    receivable = factories.receivable(org, factories.department(org), budget_line, 100)
    factories.payment(org, receivable)  # writes a payment event and audit entries
    for table in ("core_auditentry", "payments_paymentevent"):
        with pytest.raises(DatabaseError, match="append-only"):
            _execute(f"UPDATE {table} SET created_at = now()", [])  # noqa: S608
        with pytest.raises(DatabaseError, match="append-only"):
            _execute(f"DELETE FROM {table}", [])  # noqa: S608
