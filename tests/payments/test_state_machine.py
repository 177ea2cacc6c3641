"""Every allowed and every forbidden transition of the payment state machine."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from rathauskasse.core import audit
from rathauskasse.core.models import AuditEntry
from rathauskasse.ledger.models import JournalEntry
from rathauskasse.organisations.models import BudgetLine, Department, Organisation
from rathauskasse.payments import services
from rathauskasse.payments.models import (
    TERMINAL,
    TRANSITIONS,
    EventSource,
    Payment,
    PaymentEvent,
    PaymentStatus,
)
from rathauskasse.receivables.models import ReceivableStatus
from tests import factories

pytestmark = pytest.mark.django_db

S = PaymentStatus
ACTOR = factories.ACTOR
EXPECTED = {
    S.CREATED: {S.STARTED, S.PENDING, S.SUCCEEDED, S.FAILED, S.CANCELLED, S.EXPIRED},
    S.STARTED: {S.PENDING, S.SUCCEEDED, S.FAILED, S.CANCELLED, S.EXPIRED},
    S.PENDING: {S.SUCCEEDED, S.FAILED, S.CANCELLED, S.EXPIRED},
    S.SUCCEEDED: set(),
    S.FAILED: set(),
    S.CANCELLED: set(),
    S.EXPIRED: set(),
}


def _move(payment: Payment, to: PaymentStatus) -> Payment:
    """Reach `to` through the named service for it."""
    functions: dict[PaymentStatus, Callable[..., Payment]] = {
        S.PENDING: services.mark_pending,
        S.SUCCEEDED: services.confirm_payment,
        S.FAILED: services.fail_payment,
        S.CANCELLED: services.cancel_payment,
        S.EXPIRED: services.expire_payment,
    }
    if to == S.STARTED:
        services.start_payment(payment=payment, actor=ACTOR)
        return Payment.objects.get(pk=payment.pk)
    return functions[to](payment=payment, source=EventSource.SYSTEM, actor=ACTOR)


def _payment_in(
    state: PaymentStatus, org: Organisation, dept: Department, line: BudgetLine
) -> Payment:
    payment = factories.payment(org, factories.receivable(org, dept, line, 1000))
    path = {
        S.CREATED: [],
        S.STARTED: [S.STARTED],
        S.PENDING: [S.STARTED, S.PENDING],
        S.SUCCEEDED: [S.STARTED, S.SUCCEEDED],
        S.FAILED: [S.STARTED, S.FAILED],
        S.CANCELLED: [S.STARTED, S.CANCELLED],
        S.EXPIRED: [S.STARTED, S.EXPIRED],
    }[state]
    for step in path:
        payment = _move(payment, step)
    assert payment.status == state
    return payment


def test_the_table_is_the_designed_state_machine() -> None:
    assert {k: set(v) for k, v in TRANSITIONS.items()} == EXPECTED
    assert frozenset({S.SUCCEEDED, S.FAILED, S.CANCELLED, S.EXPIRED}) == TERMINAL


ALLOWED = [(a, b) for a, targets in EXPECTED.items() for b in sorted(targets) if b != S.STARTED]
FORBIDDEN = [(a, b) for a in S for b in S if b not in EXPECTED[a] and b not in (a, S.CREATED)]


@pytest.mark.parametrize(("start", "target"), ALLOWED)
def test_allowed_transition_writes_one_event_and_one_audit_entry(
    start: PaymentStatus,
    target: PaymentStatus,
    org: Organisation,
    department: Department,
    budget_line: BudgetLine,
) -> None:
    payment = _payment_in(start, org, department, budget_line)
    events_before = PaymentEvent.objects.filter(payment=payment).count()
    audits_before = AuditEntry.objects.filter(action=f"payment.{target}").count()
    moved = _move(payment, target)
    assert moved.status == target
    event = PaymentEvent.objects.filter(payment=payment).last()
    assert event is not None
    assert (event.from_status, event.to_status) == (start, target)
    assert PaymentEvent.objects.filter(payment=payment).count() == events_before + 1
    assert AuditEntry.objects.filter(action=f"payment.{target}").count() == audits_before + 1


@pytest.mark.parametrize(("start", "target"), FORBIDDEN)
def test_forbidden_transition_is_refused_and_changes_nothing(
    start: PaymentStatus,
    target: PaymentStatus,
    org: Organisation,
    department: Department,
    budget_line: BudgetLine,
) -> None:
    payment = _payment_in(start, org, department, budget_line)
    events_before = PaymentEvent.objects.filter(payment=payment).count()
    entries_before = JournalEntry.objects.count()
    with pytest.raises(services.TransitionNotAllowed):
        _move(payment, target)
    payment.refresh_from_db()
    assert payment.status == start
    assert PaymentEvent.objects.filter(payment=payment).count() == events_before
    assert JournalEntry.objects.count() == entries_before


@pytest.mark.parametrize(
    "state", [S.STARTED, S.PENDING, S.SUCCEEDED, S.FAILED, S.CANCELLED, S.EXPIRED]
)
def test_repeating_a_transition_is_a_no_op(
    state: PaymentStatus, org: Organisation, department: Department, budget_line: BudgetLine
) -> None:
    payment = _payment_in(state, org, department, budget_line)
    events = PaymentEvent.objects.filter(payment=payment).count()
    entries = JournalEntry.objects.count()
    again = _move(payment, state)
    assert again.status == state
    assert PaymentEvent.objects.filter(payment=payment).count() == events
    assert JournalEntry.objects.count() == entries


@pytest.mark.parametrize("start", [S.FAILED, S.CANCELLED, S.EXPIRED, S.SUCCEEDED])
def test_a_finished_payment_cannot_be_started_again(
    start: PaymentStatus, org: Organisation, department: Department, budget_line: BudgetLine
) -> None:
    payment = _payment_in(start, org, department, budget_line)
    with pytest.raises(services.TransitionNotAllowed):
        services.start_payment(payment=payment, actor=ACTOR)


def test_success_posts_once_and_marks_the_receivable_paid(
    org: Organisation, department: Department, budget_line: BudgetLine
) -> None:
    payment = _payment_in(S.SUCCEEDED, org, department, budget_line)
    receivable = payment.receivables.get()
    assert receivable.status == ReceivableStatus.PAID
    entry = JournalEntry.objects.get(idempotency_key=f"payment:{payment.pk}:succeeded")
    assert sorted(entry.lines.values_list("amount_cents", flat=True)) == [-1000, 1000]
    # Only success posts: a failed or cancelled payment leaves the ledger alone.
    failed = _payment_in(S.FAILED, org, department, budget_line)
    assert not JournalEntry.objects.filter(reference=f"payment:{failed.public_id}").exists()


def test_actor_label_and_source_are_recorded(
    org: Organisation, department: Department, budget_line: BudgetLine
) -> None:
    payment = _payment_in(S.STARTED, org, department, budget_line)
    services.confirm_payment(
        payment=payment, source=EventSource.STAFF, actor=audit.Actor(label="kasse")
    )
    event = PaymentEvent.objects.filter(payment=payment).last()
    assert event is not None
    assert event.source == EventSource.STAFF
    assert AuditEntry.objects.filter(action="payment.succeeded", actor_label="kasse").exists()


def test_every_provider_state_is_a_payment_status() -> None:
    """`apply_report` moves a payment to the status named like the provider's state."""
    from rathauskasse.payments.contract import ProviderState

    assert {state.value for state in ProviderState} <= set(PaymentStatus.values)
