"""Booking statement lines: each kind of decision in the ledger, never more than a line's amount,
never a receivable over its open amount, returns reversing what they return."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import pytest

from rathauskasse.events.models import Event, EventType
from rathauskasse.ledger import selectors as ledger_selectors
from rathauskasse.ledger.models import JournalEntry
from rathauskasse.organisations.models import BudgetLine, Department, Organisation
from rathauskasse.receivables import selectors as receivable_selectors
from rathauskasse.receivables.models import Receivable, ReceivableStatus
from rathauskasse.reconciliation import decisions, services
from rathauskasse.reconciliation.decisions import Allocation, Decision, OpenItem
from rathauskasse.reconciliation.lines import StatementLine as ParsedLine
from rathauskasse.reconciliation.models import (
    BankAccount,
    ClearingStatus,
    LineAllocation,
    Outcome,
    Rule,
    StatementLine,
)
from tests import factories
from tests.reconciliation.conftest import IBAN, MATCHER, balances, info, line, run

pytestmark = pytest.mark.django_db
BANK = f"bank:{IBAN}"


@pytest.fixture
def receivable(
    org: Organisation, department: Department, budget_line: BudgetLine, bank_account: BankAccount
) -> Receivable:
    return factories.receivable(org, department, budget_line, 3070)


def _another(org: Organisation, department: Department, budget_line: BudgetLine) -> Receivable:
    return factories.receivable(org, department, budget_line, 1000)


def _open(receivable: Receivable) -> int:
    return receivable_selectors.open_amount(receivable=receivable)


def _status(receivable: Receivable) -> str:
    return Receivable.objects.get(pk=receivable.pk).status


def _text(*receivables: Receivable) -> str:
    return "Kassenzeichen " + " und ".join(r.kassenzeichen_display for r in receivables)


def test_an_exact_payment_is_booked_and_pays_the_receivable(
    org: Organisation, receivable: Receivable
) -> None:
    result = run(org, [line(3070, _text(receivable))])
    assert (result.booked, result.clearing) == (1, 0)
    stored = StatementLine.objects.get()
    assert (stored.rule, stored.outcome, stored.clearing_status) == (
        Rule.EXACT,
        Outcome.BOOKED,
        ClearingStatus.NONE,
    )
    assert stored.reason
    assert stored.candidates == [receivable.kassenzeichen]
    assert _open(receivable) == 0
    assert _status(receivable) == ReceivableStatus.PAID
    assert balances(org)[BANK] == 3070
    assert balances(org).get("suspense", 0) == 0
    allocation = LineAllocation.objects.get()
    assert (allocation.receivable_id, allocation.amount_cents) == (receivable.pk, 3070)
    assert allocation.journal_entry == stored.journal_entry
    entry = JournalEntry.objects.get(pk=stored.journal_entry_id)
    assert entry.kind == "bank_statement"
    assert entry.booking_date == stored.booking_date
    assert entry.idempotency_key == f"statement-line:{stored.pk}"
    assert receivable.kassenzeichen_display in entry.text
    assert Event.objects.filter(
        type=EventType.RECEIVABLE_PAID, data__receivable=receivable.pk
    ).exists()
    assert ledger_selectors.check_integrity(organisation_id=org.pk).ok


def test_a_partial_payment_is_booked_and_flagged(org: Organisation, receivable: Receivable) -> None:
    result = run(org, [line(1000, _text(receivable))])
    assert result.flagged == 1
    stored = StatementLine.objects.get()
    assert (stored.rule, stored.clearing_status) == (Rule.PARTIAL, ClearingStatus.REVIEW)
    assert _open(receivable) == 2070
    assert _status(receivable) == ReceivableStatus.OPEN


def test_an_overpayment_books_the_open_amount_and_the_rest_to_suspense(
    org: Organisation, receivable: Receivable
) -> None:
    run(org, [line(5000, _text(receivable))])
    stored = StatementLine.objects.get()
    assert (stored.rule, stored.outcome, stored.suspense_cents) == (
        Rule.OVERPAID,
        Outcome.FLAGGED,
        1930,
    )
    assert _open(receivable) == 0
    assert balances(org)[BANK] == 5000
    assert balances(org)["suspense"] == -1930


def test_a_split_payment_books_each_receivable(
    org: Organisation, receivable: Receivable, department: Department, budget_line: BudgetLine
) -> None:
    other = _another(org, department, budget_line)
    run(org, [line(4070, _text(receivable, other))])
    stored = StatementLine.objects.get()
    assert stored.rule == Rule.SPLIT
    assert _open(receivable) == _open(other) == 0
    assert sorted(stored.allocations.values_list("amount_cents", flat=True)) == [1000, 3070]
    assert balances(org)[BANK] == 4070


@pytest.mark.parametrize(
    ("amount", "rule"),
    [(3070, Rule.NO_REFERENCE), (1234, Rule.AMBIGUOUS), (3070, Rule.DUPLICATE)],
)
def test_what_names_no_single_open_receivable_waits_in_clearing(
    org: Organisation,
    receivable: Receivable,
    department: Department,
    budget_line: BudgetLine,
    amount: int,
    rule: Rule,
) -> None:
    other = _another(org, department, budget_line)
    if rule == Rule.NO_REFERENCE:
        text = "Parkausweis Mustermann"
    elif rule == Rule.AMBIGUOUS:
        text = _text(receivable, other)
    else:
        run(org, [line(3070, _text(receivable), statement=info(statement_id="EARLIER"))])
        text = _text(receivable)
    bank_before = balances(org).get(BANK, 0)
    result = run(org, [line(amount, text)])
    assert (result.booked, result.flagged, result.clearing) == (0, 0, 1)
    stored = StatementLine.objects.order_by("-id").first()
    assert stored is not None
    assert (stored.rule, stored.outcome, stored.clearing_status) == (
        rule,
        Outcome.CLEARING,
        ClearingStatus.OPEN,
    )
    assert stored.suspense_cents == amount
    assert not stored.allocations.exists()
    assert balances(org)[BANK] - bank_before == amount
    assert _open(other) == 1000
    if rule == Rule.AMBIGUOUS:
        # Money for both may be on the account: neither is reminded while the line waits.
        assert receivable_selectors.under_clearing(receivable)
        assert receivable_selectors.under_clearing(other)
        assert _open(receivable) == 3070
    if rule == Rule.NO_REFERENCE:
        assert not receivable_selectors.under_clearing(receivable)


def test_money_out_goes_to_suspense_from_the_bank(
    org: Organisation, bank_account: BankAccount
) -> None:
    run(org, [line(-1999, "Lastschrift Porto")])
    stored = StatementLine.objects.get()
    assert (stored.rule, stored.outcome) == (Rule.OUTGOING, Outcome.CLEARING)
    assert balances(org)[BANK] == -1999
    assert balances(org)["suspense"] == 1999


def test_two_lines_of_one_file_never_book_a_receivable_twice(
    org: Organisation, receivable: Receivable
) -> None:
    result = run(
        org, [line(3070, _text(receivable), entry=1), line(3070, _text(receivable), entry=2)]
    )
    assert (result.booked, result.clearing) == (1, 1)
    assert _open(receivable) == 0
    second = StatementLine.objects.get(entry_index=2)
    assert second.rule == Rule.DUPLICATE
    assert balances(org)["suspense"] == -3070


def _overeager(
    statement_line: ParsedLine,
    found: Mapping[str, OpenItem],
    payouts: object = None,
) -> Decision:
    """A matcher that forgets what was booked: it always assigns the whole line."""
    item = next(iter(found.values()))
    return Decision(
        decisions.Rule.EXACT,
        decisions.Outcome.BOOKED,
        "Passt.",
        (Allocation(item.receivable_id, item.kassenzeichen, statement_line.amount_cents),),
    )


def test_the_booking_checks_the_matcher_and_never_books_more_than_is_open(
    org: Organisation, receivable: Receivable
) -> None:
    matcher = dataclasses.replace(MATCHER, decide=_overeager)
    lines = [
        line(2000, _text(receivable), entry=1),
        line(2000, _text(receivable), entry=2),  # only 10,70 € are left
        line(4000, _text(receivable), entry=3),  # more than the receivable at all
    ]
    result = run(org, lines, matcher=matcher)
    assert (result.booked, result.clearing) == (1, 2)
    assert _open(receivable) == 1070
    second = StatementLine.objects.get(entry_index=2)
    assert second.outcome == Outcome.CLEARING
    assert "10,70" in second.reason
    assert second.rule == Rule.EXACT  # which rule proposed it stays visible
    assert balances(org)["suspense"] == -6000


def test_a_decision_that_does_not_add_up_is_not_booked(
    org: Organisation, receivable: Receivable
) -> None:
    def short(
        statement_line: ParsedLine, found: Mapping[str, OpenItem], payouts: object = None
    ) -> Decision:
        item = next(iter(found.values()))
        return Decision(
            decisions.Rule.PARTIAL,
            decisions.Outcome.FLAGGED,
            "Teil.",
            (Allocation(item.receivable_id, item.kassenzeichen, 100),),
        )

    run(org, [line(3070, _text(receivable))], matcher=dataclasses.replace(MATCHER, decide=short))
    stored = StatementLine.objects.get()
    assert stored.outcome == Outcome.CLEARING
    assert "ergibt nicht den Betrag" in stored.reason
    assert _open(receivable) == 3070


def _paid_by_debit(org: Organisation, receivable: Receivable) -> StatementLine:
    run(
        org,
        [
            line(
                3070,
                _text(receivable),
                statement=info(statement_id="COLL-1"),
                end_to_end_id="RK-DEBIT-4711",
                mandate_id="MANDAT-1",
                account_servicer_reference="BANK-COLL-1",
            )
        ],
    )
    assert _status(receivable) == ReceivableStatus.PAID
    return StatementLine.objects.get()


def test_a_returned_direct_debit_reverses_its_booking_and_reopens_the_receivable(
    org: Organisation, receivable: Receivable
) -> None:
    original = _paid_by_debit(org, receivable)
    returned = line(
        -3070,
        "RUECKLASTSCHRIFT",
        statement=info(statement_id="RET-1"),
        reversal=True,
        return_reason="MD06",
        end_to_end_id="RK-DEBIT-4711",
        mandate_id="MANDAT-1",
        account_servicer_reference="BANK-RET-1",
    )
    result = run(org, [returned])
    assert result.flagged == 1
    stored = StatementLine.objects.get(statement__statement_id="RET-1")
    assert (stored.rule, stored.outcome) == (Rule.REVERSAL, Outcome.FLAGGED)
    assert stored.reverses == original
    assert "MD06" in stored.reason
    assert "wieder offen" in stored.reason
    assert _open(receivable) == 3070
    assert _status(receivable) == ReceivableStatus.OPEN
    assert Receivable.objects.get(pk=receivable.pk).paid_at is None
    original.refresh_from_db()
    assert original.clearing_status == ClearingStatus.RETURNED
    reversal = JournalEntry.objects.get(pk=stored.journal_entry_id)
    assert reversal.reverses_id == original.journal_entry_id
    assert balances(org)[BANK] == 0
    assert sum(LineAllocation.objects.values_list("amount_cents", flat=True)) == 0
    assert ledger_selectors.check_integrity(organisation_id=org.pk).ok


def test_a_return_with_the_banks_fee_books_the_fee(
    org: Organisation, receivable: Receivable
) -> None:
    _paid_by_debit(org, receivable)
    returned = line(
        -3370,
        "RUECKLASTSCHRIFT",
        statement=info(statement_id="RET-2"),
        reversal=True,
        charges_cents=300,
        end_to_end_id="RK-DEBIT-4711",
    )
    run(org, [returned])
    assert _open(receivable) == 3070
    assert balances(org)[BANK] == -300
    assert balances(org)["fees:bank"] == 300


def test_a_return_without_its_original_waits_in_clearing(
    org: Organisation, receivable: Receivable
) -> None:
    _paid_by_debit(org, receivable)
    for n, e2e in enumerate(("UNBEKANNT", ""), start=1):
        returned = line(
            -3070,
            "RUECKLASTSCHRIFT",
            statement=info(statement_id=f"R{n}"),
            reversal=True,
            end_to_end_id=e2e,
        )
        run(org, [returned])
        stored = StatementLine.objects.get(statement__statement_id=f"R{n}")
        assert (stored.rule, stored.outcome) == (Rule.REVERSAL, Outcome.CLEARING)
        assert "keine frühere Buchung" in stored.reason
    assert _status(receivable) == ReceivableStatus.PAID
    assert balances(org)["suspense"] == 6140


def test_a_booking_is_returned_once(org: Organisation, receivable: Receivable) -> None:
    _paid_by_debit(org, receivable)
    twice = [
        line(
            -3070,
            "RUECK",
            statement=info(statement_id="R"),
            entry=n,
            reversal=True,
            end_to_end_id="RK-DEBIT-4711",
            account_servicer_reference=f"BANK-RET-{n}",
        )
        for n in (1, 2)
    ]
    run(org, twice)
    outcomes = list(
        StatementLine.objects.filter(reversal=True)
        .order_by("entry_index")
        .values_list("outcome", flat=True)
    )
    assert outcomes == [Outcome.FLAGGED, Outcome.CLEARING]
    assert _open(receivable) == 3070


def test_each_line_is_booked_once_across_imports(org: Organisation, receivable: Receivable) -> None:
    paid = line(3070, _text(receivable), account_servicer_reference="REF-1")
    run(org, [paid])
    run(org, [dataclasses.replace(paid, statement=info(statement_id="NEXT"))])
    assert JournalEntry.objects.filter(kind="bank_statement").count() == 1
    assert balances(org)[BANK] == 3070


def test_services_describe_mentions_counts_in_german(
    org: Organisation, receivable: Receivable
) -> None:
    result = run(org, [line(3070, _text(receivable)), line(50, "?", entry=2)])
    assert result.message == services.describe(result)
    assert "2 Zeilen gelesen, 2 neu: 1 gebucht" in result.message
    assert "1 in der Klärung" in result.message
    assert "davon ungeklärt 0,50 €" in result.message


def test_a_receivable_the_line_does_not_name_is_never_booked(
    org: Organisation, receivable: Receivable, department: Department, budget_line: BudgetLine
) -> None:
    stranger = _another(org, department, budget_line)

    def elsewhere(
        statement_line: ParsedLine, found: Mapping[str, OpenItem], payouts: object = None
    ) -> Decision:
        return Decision(
            decisions.Rule.EXACT,
            decisions.Outcome.BOOKED,
            "Passt.",
            (Allocation(stranger.pk, stranger.kassenzeichen, 1000),),
        )

    run(
        org, [line(1000, _text(receivable))], matcher=dataclasses.replace(MATCHER, decide=elsewhere)
    )
    assert StatementLine.objects.get().outcome == Outcome.CLEARING
    assert _open(stranger) == 1000


def test_a_statements_creation_time_without_zone_is_german_time(
    org: Organisation, bank_account: BankAccount
) -> None:
    import datetime as dt

    from rathauskasse.reconciliation.models import Statement

    created = dt.datetime(2026, 11, 30, 18, 0)  # noqa: DTZ001 - as a bank writes it
    run(org, [line(100, "x", statement=info(created_at=created))])
    assert Statement.objects.get().created_at == dt.datetime(2026, 11, 30, 17, 0, tzinfo=dt.UTC)
