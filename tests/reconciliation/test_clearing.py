"""The clearing queue's actions: money moves only by new postings, always wholly accounted for."""

from __future__ import annotations

import pytest

from rathauskasse.core.errors import ValidationFailed
from rathauskasse.core.models import AuditEntry
from rathauskasse.ledger.models import JournalEntry
from rathauskasse.organisations.models import BudgetLine, Department, Organisation
from rathauskasse.receivables import selectors as receivable_selectors
from rathauskasse.receivables.models import Receivable, ReceivableStatus
from rathauskasse.reconciliation import clearing, selectors
from rathauskasse.reconciliation.models import (
    ActionKind,
    BankAccount,
    ClearingStatus,
    LineAllocation,
    StatementLine,
)
from tests import factories
from tests.reconciliation.conftest import IBAN, balances, line, run

pytestmark = pytest.mark.django_db
BANK = f"bank:{IBAN}"
ACTOR = factories.ACTOR


@pytest.fixture
def receivable(
    org: Organisation, department: Department, budget_line: BudgetLine, bank_account: BankAccount
) -> Receivable:
    return factories.receivable(org, department, budget_line, 4500)


def _receivable(
    org: Organisation, department: Department, budget_line: BudgetLine, cents: int
) -> Receivable:
    return factories.receivable(org, department, budget_line, cents)


def _unassigned(org: Organisation, cents: int, text: str = "Danke für alles") -> StatementLine:
    run(org, [line(cents, text)])
    return StatementLine.objects.filter(organisation=org).latest("id")


def _open(receivable: Receivable) -> int:
    return receivable_selectors.open_amount(receivable=receivable)


def _accounted(row: StatementLine) -> int:
    given = sum(LineAllocation.objects.filter(line=row).values_list("amount_cents", flat=True))
    return given + clearing.suspense_left(row)


def test_money_without_a_reference_is_assigned_and_pays_the_receivable(
    org: Organisation, receivable: Receivable
) -> None:
    row = _unassigned(org, 4500)
    assert row.clearing_status == ClearingStatus.OPEN
    assert balances(org)["suspense"] == -4500
    clearing.assign(
        organisation=org,
        line_id=row.pk,
        shares=[clearing.Share(receivable.kassenzeichen_display, 4500)],
        actor=ACTOR,
        comment="Name und Betrag passen",
    )
    row.refresh_from_db()
    assert row.clearing_status == ClearingStatus.CLEARED
    assert _open(receivable) == 0
    assert Receivable.objects.get(pk=receivable.pk).status == ReceivableStatus.PAID
    assert balances(org)["suspense"] == 0
    assert balances(org)[BANK] == 4500
    assert _accounted(row) == 4500
    action = row.actions.get()
    assert (action.kind, action.comment) == (ActionKind.ASSIGNED, "Name und Betrag passen")
    assert AuditEntry.objects.filter(action="statement_line.assigned").count() == 1


def test_one_transfer_is_split_over_two_notices_when_the_amounts_add_up(
    org: Organisation, department: Department, budget_line: BudgetLine, receivable: Receivable
) -> None:
    other = _receivable(org, department, budget_line, 1000)
    row = _unassigned(org, 5500)
    clearing.assign(
        organisation=org,
        line_id=row.pk,
        shares=[
            clearing.Share(receivable.kassenzeichen, 4500),
            clearing.Share(other.kassenzeichen, 1000),
        ],
        actor=ACTOR,
    )
    assert (_open(receivable), _open(other)) == (0, 0)
    assert _accounted(row) == 5500


@pytest.mark.parametrize(
    ("shares", "field", "message"),
    [
        ([("", 0)], "0.kassenzeichen", "mindestens ein Kassenzeichen"),
        ([("R", 4000)], "total", "ergeben 40,00"),
        ([("R", 5000)], "0.amount", "Offen sind nur 45,00"),
        ([("R", 0)], "0.amount", "über 0 €"),
        ([("R", 2000), ("R", 2500)], "1.kassenzeichen", "schon in einer Zeile"),
        ([("999999999", 4500)], "0.kassenzeichen", "keine Forderung"),
    ],
)
def test_an_assignment_that_does_not_add_up_is_refused_and_changes_nothing(
    org: Organisation,
    receivable: Receivable,
    shares: list[tuple[str, int]],
    field: str,
    message: str,
) -> None:
    row = _unassigned(org, 4500)
    entries = JournalEntry.objects.count()
    typed = [clearing.Share(receivable.kassenzeichen if kz == "R" else kz, c) for kz, c in shares]
    with pytest.raises(ValidationFailed) as caught:
        clearing.assign(organisation=org, line_id=row.pk, shares=typed, actor=ACTOR)
    assert message in caught.value.errors[field]
    row.refresh_from_db()
    assert row.clearing_status == ClearingStatus.OPEN
    assert JournalEntry.objects.count() == entries
    assert not row.actions.exists()
    assert _open(receivable) == 4500


def test_a_cancelled_receivable_gets_no_money(org: Organisation, receivable: Receivable) -> None:
    from rathauskasse.receivables.services import cancel_receivable

    cancel_receivable(actor=ACTOR, receivable=receivable, reason="Bescheid aufgehoben")
    row = _unassigned(org, 4500)
    with pytest.raises(ValidationFailed) as caught:
        clearing.assign(
            organisation=org,
            line_id=row.pk,
            shares=[clearing.Share(receivable.kassenzeichen, 4500)],
            actor=ACTOR,
        )
    assert "storniert" in caught.value.errors["0.kassenzeichen"]


def test_an_assignment_is_undone_by_a_new_posting_and_can_be_made_again(
    org: Organisation, department: Department, budget_line: BudgetLine, receivable: Receivable
) -> None:
    row = _unassigned(org, 4500)
    assigned = clearing.assign(
        organisation=org,
        line_id=row.pk,
        shares=[clearing.Share(receivable.kassenzeichen, 4500)],
        actor=ACTOR,
    )
    entries_before = set(JournalEntry.objects.values_list("pk", flat=True))
    with pytest.raises(ValidationFailed):
        clearing.undo(
            organisation=org, line_id=row.pk, actor=ACTOR, comment="", action_id=assigned.pk
        )
    clearing.undo(
        organisation=org,
        line_id=row.pk,
        actor=ACTOR,
        comment="falscher Schuldner",
        action_id=assigned.pk,
    )
    row.refresh_from_db()
    assert row.clearing_status == ClearingStatus.OPEN
    assert _open(receivable) == 4500
    assert Receivable.objects.get(pk=receivable.pk).status == ReceivableStatus.OPEN
    assert balances(org)["suspense"] == -4500
    assert entries_before <= set(JournalEntry.objects.values_list("pk", flat=True))
    with pytest.raises(clearing.ClearingRefused, match="bereits aufgehoben"):
        clearing.undo(
            organisation=org,
            line_id=row.pk,
            actor=ACTOR,
            comment="noch einmal",
            action_id=assigned.pk,
        )
    right = _receivable(org, department, budget_line, 4500)
    clearing.assign(
        organisation=org,
        line_id=row.pk,
        shares=[clearing.Share(right.kassenzeichen, 4500)],
        actor=ACTOR,
    )
    assert (_open(receivable), _open(right)) == (4500, 0)
    assert _accounted(row) == 4500


def test_a_wrong_automatic_booking_is_undone_and_reopens_the_receivable(
    org: Organisation, receivable: Receivable
) -> None:
    run(org, [line(4500, f"Kassenzeichen {receivable.kassenzeichen_display}")])
    row = StatementLine.objects.get(organisation=org)
    assert row.clearing_status == ClearingStatus.NONE
    assert _open(receivable) == 0
    detail = selectors.detail(organisation=org, line=row)
    assert detail.undoable == [(None, "Buchung beim Import")]
    clearing.undo(organisation=org, line_id=row.pk, actor=ACTOR, comment="Namensgleichheit")
    row.refresh_from_db()
    assert row.clearing_status == ClearingStatus.OPEN
    assert _open(receivable) == 4500
    assert clearing.suspense_left(row) == 4500
    assert selectors.detail(organisation=org, line=row).undoable == []
    with pytest.raises(clearing.ClearingRefused):
        clearing.undo(organisation=org, line_id=row.pk, actor=ACTOR, comment="noch einmal")


def test_holding_needs_a_reason_and_leaves_the_money_assignable(
    org: Organisation, receivable: Receivable
) -> None:
    row = _unassigned(org, 4500)
    with pytest.raises(ValidationFailed):
        clearing.hold(organisation=org, line_id=row.pk, actor=ACTOR, comment=" ")
    clearing.hold(organisation=org, line_id=row.pk, actor=ACTOR, comment="Bescheid folgt")
    row.refresh_from_db()
    assert row.clearing_status == ClearingStatus.HELD
    assert balances(org)["suspense"] == -4500
    clearing.assign(
        organisation=org,
        line_id=row.pk,
        shares=[clearing.Share(receivable.kassenzeichen, 4500)],
        actor=ACTOR,
    )
    row.refresh_from_db()
    assert row.clearing_status == ClearingStatus.CLEARED


def test_a_refund_is_marked_with_a_valid_iban_only(
    org: Organisation, bank_account: BankAccount
) -> None:
    row = _unassigned(org, 1234)
    with pytest.raises(ValidationFailed) as caught:
        clearing.mark_for_refund(
            organisation=org, line_id=row.pk, actor=ACTOR, iban="DE00 1234", name=""
        )
    assert set(caught.value.errors) == {"iban", "name"}
    clearing.mark_for_refund(
        organisation=org,
        line_id=row.pk,
        actor=ACTOR,
        iban="de75 5121 0800 1245 1261 99",
        name="Erika Mustermann",
    )
    row.refresh_from_db()
    action = row.actions.get()
    assert row.clearing_status == ClearingStatus.REFUND
    assert (action.refund_iban, action.refund_name) == (
        "DE75512108001245126199",
        "Erika Mustermann",
    )


def test_a_flagged_partial_payment_is_confirmed_by_review(
    org: Organisation, receivable: Receivable
) -> None:
    run(org, [line(2000, f"KZ {receivable.kassenzeichen}")])
    row = StatementLine.objects.get(organisation=org)
    assert row.clearing_status == ClearingStatus.REVIEW
    clearing.review(organisation=org, line_id=row.pk, actor=ACTOR)
    row.refresh_from_db()
    assert row.clearing_status == ClearingStatus.CLEARED
    with pytest.raises(clearing.ClearingRefused):
        clearing.review(organisation=org, line_id=row.pk, actor=ACTOR)


def test_an_overpayment_is_reviewed_only_once_its_remainder_is_dealt_with(
    org: Organisation, department: Department, budget_line: BudgetLine, receivable: Receivable
) -> None:
    other = _receivable(org, department, budget_line, 500)
    run(org, [line(5000, f"KZ {receivable.kassenzeichen}")])
    row = StatementLine.objects.get(organisation=org)
    assert clearing.suspense_left(row) == 500
    with pytest.raises(clearing.ClearingRefused, match="Verwahrgeld"):
        clearing.review(organisation=org, line_id=row.pk, actor=ACTOR)
    clearing.assign(
        organisation=org,
        line_id=row.pk,
        shares=[clearing.Share(other.kassenzeichen, 500)],
        actor=ACTOR,
    )
    assert (_open(receivable), _open(other)) == (0, 0)
    assert _accounted(row) == 5000


def test_comments_are_kept_in_order_and_change_no_status(
    org: Organisation, bank_account: BankAccount
) -> None:
    row = _unassigned(org, 700)
    clearing.add_comment(organisation=org, line_id=row.pk, actor=ACTOR, comment="Zahler angerufen")
    clearing.add_comment(organisation=org, line_id=row.pk, actor=ACTOR, comment="Rückruf morgen")
    row.refresh_from_db()
    assert row.clearing_status == ClearingStatus.OPEN
    assert [a.comment for a in row.actions.all()] == ["Zahler angerufen", "Rückruf morgen"]
    with pytest.raises(ValidationFailed):
        clearing.add_comment(organisation=org, line_id=row.pk, actor=ACTOR, comment="x" * 2001)


def test_another_organisation_cannot_touch_the_line(
    org: Organisation, bank_account: BankAccount
) -> None:
    row = _unassigned(org, 700)
    other = factories.organisation()
    with pytest.raises(clearing.ClearingRefused):
        clearing.add_comment(organisation=other, line_id=row.pk, actor=ACTOR, comment="fremd")


def test_suggestions_rank_same_amount_and_name_first(
    org: Organisation, department: Department, budget_line: BudgetLine, bank_account: BankAccount
) -> None:
    from rathauskasse.receivables.services import Debtor

    wanted = factories.receivable(
        org, department, budget_line, 4711, debtor=Debtor(name="Hans Yılmaz")
    )
    factories.receivable(org, department, budget_line, 4711, debtor=Debtor(name="Erika Weiß"))
    factories.receivable(org, department, budget_line, 999, debtor=Debtor(name="Hans Yılmaz"))
    run(org, [line(4711, "Grundsteuer", counterparty_name="YILMAZ, HANS")])
    row = StatementLine.objects.get(organisation=org)
    found = selectors.suggestions(organisation=org, line=row)
    assert found[0].item.receivable_id == wanted.pk
    assert any("gleicher Betrag" in reason for reason in found[0].reasons)
    assert any("Name" in reason for reason in found[0].reasons)


@pytest.mark.parametrize(
    ("status", "left", "offered"),
    [
        (ClearingStatus.OPEN, 100, {"assign", "hold", "refund"}),
        (ClearingStatus.HELD, 100, {"assign", "refund"}),
        (ClearingStatus.REFUND, 100, {"assign", "hold"}),
        (ClearingStatus.REVIEW, 100, {"assign", "hold", "refund"}),
        (ClearingStatus.REVIEW, 0, {"review"}),
        (ClearingStatus.CLEARED, 0, set()),
        (ClearingStatus.NONE, 0, set()),
    ],
)
def test_the_page_offers_the_steps_the_services_allow(
    status: ClearingStatus, left: int, offered: set[str]
) -> None:
    allowed = clearing.steps(StatementLine(clearing_status=status), left)
    assert {name for name in ("assign", "hold", "refund", "review") if getattr(allowed, name)} == (
        offered
    )
