"""Posting a batch: the same entries as one by one, all balanced, or nothing at all."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction

from rathauskasse.core import sql
from rathauskasse.ledger import rules, selectors, services
from rathauskasse.ledger.models import EntryKind, JournalEntry, JournalLine
from rathauskasse.ledger.rules import PostingLine
from rathauskasse.organisations.models import BudgetLine
from tests import factories

pytestmark = pytest.mark.django_db


def _entry(budget_line: BudgetLine, n: int, *, cents: int = 1000) -> services.NewEntry:
    return services.NewEntry(
        kind=EntryKind.RECEIVABLE_CREATED,
        text=f"Sollstellung {n}",
        lines=rules.receivable_created(open_item_id=n, lines=[(budget_line.pk, cents)]),
        idempotency_key=f"test:{n}",
        reference=f"receivable:{n}",
    )


def test_a_batch_is_posted_as_post_posts_each_entry(budget_line: BudgetLine) -> None:
    org_id = budget_line.organisation_id
    ids = services.post_many(
        organisation_id=org_id,
        entries=[_entry(budget_line, 1), _entry(budget_line, 2, cents=250)],
        actor=factories.ACTOR,
    )
    single = services.post(
        organisation_id=org_id,
        kind=EntryKind.RECEIVABLE_CREATED,
        text="Sollstellung 3",
        lines=rules.receivable_created(open_item_id=3, lines=[(budget_line.pk, 1000)]),
        idempotency_key="test:3",
        reference="receivable:3",
        actor=factories.ACTOR,
    )

    def shape(entry: JournalEntry) -> tuple[object, ...]:
        lines = [
            (line.account_id, line.amount_cents, line.open_item_id is not None)
            for line in entry.lines.all()
        ]
        return (entry.kind, entry.booking_date, entry.actor_label, entry.reverses_id, lines)

    first, _ = JournalEntry.objects.filter(pk__in=ids).order_by("pk")
    assert shape(first) == shape(JournalEntry.objects.get(pk=single.pk))
    assert (first.idempotency_key, first.reference, first.text) == (
        "test:1",
        "receivable:1",
        "Sollstellung 1",
    )
    assert selectors.open_item_balances(organisation_id=org_id, open_item_ids=[1, 2]) == {
        1: 1000,
        2: 250,
    }
    assert selectors.check_integrity(organisation_id=org_id).ok


def test_one_unbalanced_entry_writes_nothing(budget_line: BudgetLine) -> None:
    bad = services.NewEntry(
        kind=EntryKind.RECEIVABLE_CREATED,
        text="schief",
        lines=[
            PostingLine(rules.RECEIVABLES, 1000, 9),
            PostingLine(rules.revenue(budget_line.pk), -999),
        ],
        idempotency_key="test:9",
    )
    with pytest.raises(services.UnbalancedEntry, match="1 Cent"):
        services.post_many(
            organisation_id=budget_line.organisation_id,
            entries=[_entry(budget_line, 1), bad],
            actor=factories.ACTOR,
        )
    assert not JournalEntry.objects.exists()
    assert not JournalLine.objects.exists()


def test_a_key_twice_in_the_batch_or_posted_before_is_refused(budget_line: BudgetLine) -> None:
    org_id = budget_line.organisation_id
    with pytest.raises(ValueError, match="twice"):
        services.post_many(
            organisation_id=org_id,
            entries=[_entry(budget_line, 1), _entry(budget_line, 1)],
            actor=factories.ACTOR,
        )
    services.post_many(
        organisation_id=org_id, entries=[_entry(budget_line, 1)], actor=factories.ACTOR
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        services.post_many(
            organisation_id=org_id,
            entries=[_entry(budget_line, 2), _entry(budget_line, 1)],
            actor=factories.ACTOR,
        )
    assert JournalEntry.objects.count() == 1


@pytest.mark.postgres
def test_on_postgresql_the_trigger_checks_each_entry_of_one_copy(budget_line: BudgetLine) -> None:
    """Lines of many entries in one COPY: the statement trigger refuses the one that is off."""
    ids = services.post_many(
        organisation_id=budget_line.organisation_id,
        entries=[_entry(budget_line, 1), _entry(budget_line, 2)],
        actor=factories.ACTOR,
    )
    account_ids = list(
        JournalLine.objects.filter(entry_id=ids[0]).values_list("account_id", flat=True)
    )
    entries = sql.reserve_ids(JournalEntry, 2)
    refused = f"journal entry {entries[1]} is unbalanced by 1 cents"
    with pytest.raises(DatabaseError, match=refused), transaction.atomic():
        for n, entry_id in enumerate(entries):
            JournalEntry.objects.create(
                id=entry_id,
                organisation_id=budget_line.organisation_id,
                booking_date="2026-12-01",
                created_at="2026-12-01T00:00Z",
                kind=EntryKind.RECEIVABLE_CREATED,
                text="x",
                idempotency_key=f"copy:{n}",
                actor_label="x",
            )
        sql.copy_rows(
            JournalLine,
            ("entry_id", "account_id", "amount_cents", "open_item_id"),
            [
                (entries[0], account_ids[0], 500, None),
                (entries[0], account_ids[1], -500, None),
                (entries[1], account_ids[0], 501, None),
                (entries[1], account_ids[1], -500, None),
            ],
        )
    assert connection.vendor == "postgresql"


@pytest.mark.postgres
def test_on_postgresql_a_batch_leaves_no_plan_made_for_its_size(budget_line: BudgetLine) -> None:
    """The balance trigger's plan for 200,000 lines reads the whole journal; measured: a payment
    posted afterwards on the same connection took 170 ms instead of 2 ms. So a batch ends with
    the connection's cached plans discarded."""
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        services.post_many(
            organisation_id=budget_line.organisation_id,
            entries=[_entry(budget_line, 1)],
            actor=factories.ACTOR,
        )
    assert queries.captured_queries[-1]["sql"] == "DISCARD PLANS"
