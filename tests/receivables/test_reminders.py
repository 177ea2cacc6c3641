"""The daily reminder run: who is reminded, once, with the fee posted as a booking of its own."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from django_tasks import default_task_backend

from rathauskasse.core import clock
from rathauskasse.ledger import selectors as ledger_selectors
from rathauskasse.ledger.models import EntryKind, JournalEntry
from rathauskasse.organisations.models import BudgetLine, Department, Organisation
from rathauskasse.payments import services as payments
from rathauskasse.receivables import notices, reminders, services, tasks
from rathauskasse.receivables import selectors as receivable_selectors
from rathauskasse.receivables.models import Notice, NoticeKind, Receivable, ReminderRun
from tests import factories, pdfs

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 12, 1)


@pytest.fixture
def fee_line(org: Organisation) -> BudgetLine:
    return factories.budget_line(org, code="611020.456300")


@pytest.fixture
def policy(org: Organisation, fee_line: BudgetLine) -> None:
    reminders.create_policy(
        actor=factories.ACTOR,
        organisation=org,
        days_overdue=7,
        pay_within_days=10,
        fee_cents=500,
        fee_budget_line=fee_line,
    )


def overdue(
    org: Organisation, dept: Department, line: BudgetLine, days: int, cents: int = 3000
) -> Receivable:
    return factories.receivable(org, dept, line, cents, due_date=TODAY - dt.timedelta(days=days))


def reminded(receivable: Receivable) -> bool:
    return Notice.objects.filter(receivable=receivable, kind=NoticeKind.REMINDER).exists()


def test_overdue_receivables_are_reminded_with_the_fee_and_the_books_balance(
    org: Organisation,
    department: Department,
    budget_line: BudgetLine,
    fee_line: BudgetLine,
    policy: None,
) -> None:
    late = overdue(org, department, budget_line, days=8)
    on_time = overdue(org, department, budget_line, days=6)

    result = reminders.run_reminders(day=TODAY)

    assert (result.reminded, result.already_ran) == (1, False)
    assert reminded(late) and not reminded(on_time)
    notice = Notice.objects.get(receivable=late, kind=NoticeKind.REMINDER)
    assert (notice.amount_cents, notice.fee_cents) == (3500, 500)
    assert notice.due_date == TODAY + dt.timedelta(days=10)
    late.refresh_from_db()
    assert late.amount_cents == 3500  # the fee is a line of the receivable now
    assert [line.amount_cents for line in late.lines.order_by("position")] == [3000, 500]
    assert receivable_selectors.open_amount(receivable=late) == 3500
    fee_entry = JournalEntry.objects.get(organisation=org, kind=EntryKind.REMINDER_FEE)
    assert fee_entry.idempotency_key == f"receivable:{late.pk}:reminder-fee"
    accounts = sorted((line.account.key, line.amount_cents) for line in fee_entry.lines.all())
    assert accounts == [("receivables", 500), (f"revenue:{fee_line.pk}", -500)]
    creation = JournalEntry.objects.get(idempotency_key=f"receivable:{late.pk}:created")
    assert sum(line.amount_cents for line in creation.lines.all()) == 0
    assert [line.amount_cents for line in creation.lines.filter(open_item_id=late.pk)] == [3000]
    assert ledger_selectors.check_integrity(organisation_id=org.pk).ok
    text = pdfs.text(notices.notice_pdf(notice))
    assert "Zahlungserinnerung" in text
    assert "Mahngebühr" in text
    assert "35,00 €" in text


def test_the_run_twice_a_day_reminds_once(
    org: Organisation, department: Department, budget_line: BudgetLine, policy: None
) -> None:
    late = overdue(org, department, budget_line, days=30)
    assert reminders.run_reminders(day=TODAY).reminded == 1
    again = reminders.run_reminders(day=TODAY)
    assert again.already_ran
    tomorrow = reminders.run_reminders(day=TODAY + dt.timedelta(days=1))
    assert tomorrow.reminded == 0  # reminded once, ever
    assert Notice.objects.filter(receivable=late, kind=NoticeKind.REMINDER).count() == 1
    assert JournalEntry.objects.filter(kind=EntryKind.REMINDER_FEE).count() == 1


def test_paid_cancelled_and_under_clearing_receivables_are_not_reminded(
    org: Organisation, department: Department, budget_line: BudgetLine, policy: None
) -> None:
    paid = overdue(org, department, budget_line, days=20)
    payment = factories.payment(org, paid)
    payments.confirm_payment(
        payment=payment, source=payments.EventSource.POLL, actor=factories.ACTOR
    )
    cancelled = overdue(org, department, budget_line, days=20)
    services.cancel_receivable(actor=factories.ACTOR, receivable=cancelled, reason="Irrtum")
    started = overdue(org, department, budget_line, days=20)
    payments.start_payment(payment=factories.payment(org, started), actor=factories.ACTOR)
    pending = overdue(org, department, budget_line, days=20)
    debit = factories.payment(org, pending, method="sepa_debit")
    payments.mark_pending(payment=debit, source=payments.EventSource.POLL, actor=factories.ACTOR)
    merely_created = overdue(org, department, budget_line, days=20)
    factories.payment(org, merely_created)  # never sent to the provider: nothing on its way

    assert receivable_selectors.under_clearing(started)
    assert receivable_selectors.under_clearing(pending)
    due = reminders.due_for_reminder(organisation=org, day=TODAY)
    assert due == [merely_created.pk]


def test_a_department_policy_replaces_the_organisation_policy(
    org: Organisation, budget_line: BudgetLine, policy: None
) -> None:
    youth = factories.department(org, name="Jugendamt")
    office = factories.department(org, name="Ordnungsamt")
    reminders.create_policy(
        actor=factories.ACTOR, organisation=org, department=youth, days_overdue=14, fee_cents=0
    )
    closed = factories.department(org, name="Bauamt")
    reminders.create_policy(
        actor=factories.ACTOR, organisation=org, department=closed, enabled=False
    )
    youth_10 = overdue(org, youth, budget_line, days=10)
    youth_20 = overdue(org, youth, budget_line, days=20)
    office_10 = overdue(org, office, budget_line, days=10)
    closed_90 = overdue(org, closed, budget_line, days=90)

    assert reminders.run_reminders(day=TODAY).reminded == 2

    assert [reminded(r) for r in (youth_10, youth_20, office_10, closed_90)] == [
        False,
        True,
        True,
        False,
    ]
    youth_notice = Notice.objects.get(receivable=youth_20, kind=NoticeKind.REMINDER)
    assert youth_notice.fee_cents == 0  # the youth office charges none
    assert Notice.objects.get(receivable=office_10, kind=NoticeKind.REMINDER).fee_cents == 500


def test_without_a_policy_nobody_is_reminded(
    org: Organisation, department: Department, budget_line: BudgetLine
) -> None:
    overdue(org, department, budget_line, days=365)
    assert reminders.run_reminders(day=TODAY).reminded == 0


def test_the_daily_task_plans_the_next_day_and_a_second_chain_dies_out(
    org: Organisation,
    department: Department,
    budget_line: BudgetLine,
    policy: None,
    run_tasks: Callable[[], list[str]],
) -> None:
    overdue(org, department, budget_line, days=8)
    today = clock.today()
    tasks.run_and_schedule(today)
    tasks.schedule_after(today)  # someone starts the chain a second time
    assert "send_reminders" not in run_tasks()  # nothing due before tomorrow morning

    with clock.frozen(tasks.next_run_at(today) + dt.timedelta(minutes=1)):
        ran = run_tasks()

    assert ran.count("send_reminders") == 2
    assert ReminderRun.objects.filter(day=today + dt.timedelta(days=1)).count() == 1
    planned = [r for r in default_task_backend.results if r.task.name == "send_reminders"]  # type: ignore[attr-defined]
    assert [list(r.args) for r in planned] == [[(today + dt.timedelta(days=2)).isoformat()]]
