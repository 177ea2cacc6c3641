"""Hypothesis: whatever was posted, an export sums to the ledger's movement of its period, and
exporting again exports nothing new."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rathauskasse.core import clock
from rathauskasse.finance import services
from rathauskasse.finance.models import ExportTrigger
from rathauskasse.ledger import rules
from rathauskasse.ledger import selectors as ledger_selectors
from rathauskasse.ledger import services as ledger
from rathauskasse.ledger.models import EntryKind, JournalEntry
from rathauskasse.organisations.models import BudgetLine, Department, Organisation
from tests import factories
from tests.finance.exports.conftest import ACTOR, preset_profile

pytestmark = pytest.mark.django_db
START = dt.date(2026, 11, 1)


class _Rollback(Exception):
    pass


postings = st.lists(
    st.tuples(
        st.sampled_from(["create", "pay", "refund", "reverse"]),
        st.integers(0, 9),  # which receivable (or which earlier entry, for a reversal)
        st.integers(1, 10_000_000),  # cents
        st.integers(0, 20),  # booking day after START
    ),
    min_size=1,
    max_size=30,
)


def _post(org: Organisation, receivables: list[int], op: tuple[str, int, int, int], n: int) -> None:
    kind, which, cents, day = op
    booking_date = START + dt.timedelta(days=day)
    item = receivables[which % len(receivables)]
    line = BudgetLine.objects.filter(organisation=org).first()
    assert line is not None
    if kind == "reverse":
        candidates = list(
            JournalEntry.objects.filter(organisation=org, reversed_by__isnull=True)
            .exclude(kind=EntryKind.REVERSAL)
            .order_by("id")
        )
        if candidates:
            ledger.reverse(
                entry=candidates[which % len(candidates)],
                text="Storno",
                actor=ACTOR,
                booking_date=booking_date,
            )
        return
    lines, entry_kind = {
        "create": (
            rules.receivable_created(open_item_id=item, lines=[(line.pk, cents)]),
            EntryKind.RECEIVABLE_CREATED,
        ),
        "pay": (
            rules.payment_succeeded(provider="sandbox", allocations=[(item, cents)]),
            EntryKind.PAYMENT_SUCCEEDED,
        ),
        "refund": (
            rules.refund(provider="sandbox", allocations=[(item, cents)]),
            EntryKind.REFUND,
        ),
    }[kind]
    ledger.post(
        organisation_id=org.pk,
        kind=entry_kind,
        text=f"Buchung {n}; „{kind}“",
        lines=lines,
        idempotency_key=f"hypothesis:{n}",
        actor=ACTOR,
        booking_date=booking_date,
    )


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops=postings, cut=st.integers(0, 21))
def test_an_export_sums_to_the_ledger_movement_and_runs_once(
    org: Organisation,
    department: Department,
    budget_line: BudgetLine,
    ops: list[tuple[str, int, int, int]],
    cut: int,
) -> None:
    until = START + dt.timedelta(days=cut)
    try:
        with transaction.atomic():
            receivables = [
                factories.receivable(org, department, budget_line, 100).pk for _ in range(2)
            ]
            for n, op in enumerate(ops):
                _post(org, receivables, op, n)
            profile = preset_profile(org, "generic-csv")
            with clock.frozen(dt.datetime(2026, 12, 31, 12, tzinfo=clock.BERLIN)):
                first = services.export_bookings(
                    profile=profile, actor=ACTOR, trigger=ExportTrigger.ADMIN, until=until
                )
                everything = services.export_bookings(
                    profile=profile, actor=ACTOR, trigger=ExportTrigger.ADMIN
                )
                again = services.export_bookings(
                    profile=profile, actor=ACTOR, trigger=ExportTrigger.ADMIN
                )
            expected = ledger_selectors.receivable_movement_cents(
                organisation_id=org.pk, until=until
            )
            assert _file_sum(first) == expected
            total = ledger_selectors.receivable_movement_cents(organisation_id=org.pk)
            assert _file_sum(first) + _file_sum(everything) == total
            assert again.batch is None
            assert again.records == 0
            raise _Rollback
    except _Rollback:
        pass


def _file_sum(result: services.ExportResult) -> int:
    if result.batch is None:
        return 0
    with services.open_batch_file(batch=result.batch) as stored:
        text = stored.read().decode("utf-8")
    rows = list(csv.DictReader(io.StringIO(text, newline=""), delimiter=";"))
    assert len(rows) == result.batch.record_count
    total = 0
    for row in rows:
        euros, cents = row["Betrag"].lstrip("-").split(",")
        value = int(euros) * 100 + int(cents)
        total += -value if row["Betrag"].startswith("-") else value
    assert total == result.batch.net_cents
    return total
