"""Reminders (Zahlungserinnerung): the daily run that reminds overdue receivables once.

Invariants kept here:
- a receivable is reminded only while it is open with a positive open amount, overdue by its
  policy's days, and not under clearing (`clearing`: a payment started or pending); at most
  once (the unique index `notice_one_reminder`);
- its department's policy replaces the organisation's; without an enabled policy, nothing;
- a reminder fee is a new receivable line and a posting of its own (debit Receivables, credit
  Revenue of the fee's budget line, key `receivable:<id>:reminder-fee`), in the transaction that
  issues the reminder; the reminder shows the open amount with the fee;
- a day is run once: the first run of a day writes its `ReminderRun`, a second one does nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q

from rathauskasse.core import audit, clock
from rathauskasse.core.errors import DomainError, full_clean_or_fail
from rathauskasse.ledger.models import EntryKind
from rathauskasse.organisations.models import BudgetLine, Department, Organisation
from rathauskasse.receivables import clearing, notices, services
from rathauskasse.receivables import selectors as receivable_selectors
from rathauskasse.receivables.models import (
    Notice,
    NoticeKind,
    Receivable,
    ReceivableStatus,
    ReminderPolicy,
    ReminderRun,
)

logger = logging.getLogger(__name__)

FEE_TEXT = "Mahngebühr (Zahlungserinnerung vom {date})"


@dataclass(frozen=True, slots=True)
class RunResult:
    day: dt.date
    already_ran: bool
    reminded: int
    failed: int = 0


@transaction.atomic
def create_policy(
    *,
    actor: audit.Actor,
    organisation: Organisation,
    department: Department | None = None,
    enabled: bool = True,
    days_overdue: int = 14,
    pay_within_days: int = 7,
    fee_cents: int = 0,
    fee_budget_line: BudgetLine | None = None,
) -> ReminderPolicy:
    """The reminder rule of the organisation (`department` None) or of one department."""
    policy = ReminderPolicy(
        organisation=organisation,
        department=department,
        enabled=enabled,
        days_overdue=days_overdue,
        pay_within_days=pay_within_days,
        fee_cents=fee_cents,
        fee_budget_line=fee_budget_line,
    )
    full_clean_or_fail(policy)
    policy.save()
    audit.record(
        actor=actor,
        action="reminder_policy.created",
        obj=policy,
        organisation_id=organisation.pk,
        after={
            "department": department.pk if department else None,
            "enabled": enabled,
            "days_overdue": days_overdue,
            "fee_cents": fee_cents,
            "fee_budget_line": fee_budget_line.code if fee_budget_line else None,
        },
    )
    return policy


def policy_for(receivable: Receivable) -> ReminderPolicy | None:
    """The department's policy, else the organisation's, else None."""
    found = {
        p.department_id: p
        for p in ReminderPolicy.objects.filter(organisation_id=receivable.organisation_id).filter(
            Q(department__isnull=True) | Q(department_id=receivable.department_id)
        )
    }
    return found.get(receivable.department_id) or found.get(None)


def due_for_reminder(*, organisation: Organisation, day: dt.date) -> list[int]:
    """Ids of the receivables the run of `day` reminds, oldest due date first."""
    policies = list(ReminderPolicy.objects.filter(organisation=organisation))
    own = {p.department_id for p in policies if p.department_id is not None}
    reminded = Notice.objects.filter(receivable=OuterRef("pk"), kind=NoticeKind.REMINDER)
    base = receivable_selectors.open_receivables(organisation=organisation).filter(
        ~Exists(reminded)
    )
    scopes = Q(pk__in=[])
    for policy in policies:
        if not policy.enabled:
            continue
        cutoff = day - dt.timedelta(days=policy.days_overdue)
        if policy.department_id is None:
            scopes |= Q(due_date__lte=cutoff) & ~Q(department_id__in=own)
        else:
            scopes |= Q(due_date__lte=cutoff, department_id=policy.department_id)
    candidates = list(base.filter(scopes).order_by("due_date", "pk").values_list("pk", flat=True))
    held = clearing.under_clearing_ids(organisation_id=organisation.pk, receivable_ids=candidates)
    open_cents = receivable_selectors.open_amounts(
        organisation=organisation, receivable_ids=candidates
    )
    return [pk for pk in candidates if pk not in held and open_cents[pk] > 0]


@transaction.atomic
def remind(*, actor: audit.Actor, receivable: Receivable, day: dt.date) -> Notice | None:
    """Remind one receivable (with the fee its policy asks); None when it is not due after all.

    Checked again under the receivable's row lock: a payment may have come in since the
    selection.
    """
    locked = (
        Receivable.objects.select_for_update(of=("self",))
        .select_related("organisation", "department", "service")
        .get(pk=receivable.pk)
    )
    policy = policy_for(locked)
    if (
        policy is None
        or not policy.enabled
        or locked.status != ReceivableStatus.OPEN
        or locked.due_date > day - dt.timedelta(days=policy.days_overdue)
        or Notice.objects.filter(receivable=locked, kind=NoticeKind.REMINDER).exists()
        or receivable_selectors.under_clearing(locked)
        or receivable_selectors.open_amount(receivable=locked) <= 0
    ):
        return None
    fee = 0
    if policy.fee_cents and policy.fee_budget_line is not None:
        added = services.add_charge(
            actor=actor,
            receivable=locked,
            line=services.LineInput(
                text=FEE_TEXT.format(date=day.strftime("%d.%m.%Y")),
                amount_cents=policy.fee_cents,
                budget_line=policy.fee_budget_line,
            ),
            entry_kind=EntryKind.REMINDER_FEE,
            idempotency_key=f"receivable:{locked.pk}:reminder-fee",
        )
        fee = added.amount_cents if added is not None else 0
    return notices.issue_notice(
        actor=actor,
        receivable=locked,
        kind=NoticeKind.REMINDER,
        due_date=day + dt.timedelta(days=policy.pay_within_days),
        fee_cents=fee,
    )


def run_reminders(
    *,
    day: dt.date,
    actor: audit.Actor = audit.SYSTEM,
    organisations: Iterable[Organisation] = (),
    on_start: Callable[[], None] | None = None,
) -> RunResult:
    """The reminder run of `day` for every organisation with a policy; once per day.

    `on_start` runs in the transaction that claims the day (the task plans the next day's run
    there, so that it stands even if this run fails). Each reminder has its own transaction.
    """
    with transaction.atomic():
        run, created = ReminderRun.objects.get_or_create(
            day=day, defaults={"started_at": clock.now()}
        )
        if not created:
            return RunResult(day=day, already_ran=True, reminded=run.reminded)
        audit.record(actor=actor, action="reminders.run_started", obj=run, after={"day": str(day)})
        if on_start is not None:
            on_start()
    wanted = list(organisations) or list(
        Organisation.objects.filter(
            pk__in=ReminderPolicy.objects.filter(enabled=True).values("organisation_id")
        ).order_by("pk")
    )
    reminded = failed = 0
    for organisation in wanted:
        for pk in due_for_reminder(organisation=organisation, day=day):
            try:
                notice = remind(actor=actor, receivable=Receivable(pk=pk), day=day)
            except (DomainError, IntegrityError):
                # One receivable that cannot be reminded (a policy's budget line switched off, a
                # reminder issued meanwhile) must not stop the others; it is tried again tomorrow.
                logger.exception("reminder for receivable %s failed", pk)
                failed += 1
                continue
            reminded += notice is not None
    ReminderRun.objects.filter(pk=run.pk).update(reminded=reminded)
    return RunResult(day=day, already_ran=False, reminded=reminded, failed=failed)
