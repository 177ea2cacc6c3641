"""What a payment may be created for, and what is refused with a reason."""

from __future__ import annotations

import pytest

from rathauskasse.core.errors import Conflict, ValidationFailed
from rathauskasse.organisations.models import BudgetLine, Department, Organisation
from rathauskasse.payments import services
from rathauskasse.payments.models import Payment, PaymentAllocation, PaymentStatus
from rathauskasse.payments.registry import UnknownProvider
from rathauskasse.receivables.services import cancel_receivable
from tests import factories

pytestmark = pytest.mark.django_db
ACTOR = factories.ACTOR


def _create(
    org: Organisation, *allocations: services.AllocationInput, method: str = "card", **kw: object
) -> Payment:
    return services.create_payment(
        actor=ACTOR,
        organisation=org,
        allocations=list(allocations),
        provider="sandbox",
        method=method,
        **kw,  # type: ignore[arg-type]
    )


def test_a_basket_of_receivables_is_one_payment_allocated_to_each(
    org: Organisation, department: Department, budget_line: BudgetLine
) -> None:
    a = factories.receivable(org, department, budget_line, 3070)
    b = factories.receivable(org, department, budget_line, 500, 250)
    payment = _create(org, services.AllocationInput(a), services.AllocationInput(b))
    assert payment.amount_cents == 3820
    assert payment.status == PaymentStatus.CREATED
    assert dict(payment.allocations.values_list("receivable_id", "amount_cents")) == {
        a.pk: 3070,
        b.pk: 750,
    }
    assert a.kassenzeichen in payment.description and b.kassenzeichen in payment.description


def test_partial_payment_is_allowed_up_to_the_open_amount(
    org: Organisation, department: Department, budget_line: BudgetLine
) -> None:
    receivable = factories.receivable(org, department, budget_line, 3070)
    assert _create(org, services.AllocationInput(receivable, 1000)).amount_cents == 1000
    with pytest.raises(services.PaymentRefused, match="nur 30,70"):
        _create(org, services.AllocationInput(receivable, 3071))


def test_overpayment_only_where_the_receivable_allows_it(
    org: Organisation, department: Department, budget_line: BudgetLine
) -> None:
    receivable = factories.receivable(org, department, budget_line, 1000, allows_overpayment=True)
    assert _create(org, services.AllocationInput(receivable, 1500)).amount_cents == 1500


@pytest.mark.parametrize("amount", [0, -5])
def test_zero_or_negative_amounts_are_refused(
    amount: int, org: Organisation, department: Department, budget_line: BudgetLine
) -> None:
    receivable = factories.receivable(org, department, budget_line, 1000)
    with pytest.raises(services.PaymentRefused):
        _create(org, services.AllocationInput(receivable, amount))
    assert not Payment.objects.exists()


def test_paid_cancelled_and_foreign_receivables_cannot_be_paid(
    org: Organisation, department: Department, budget_line: BudgetLine
) -> None:
    paid = factories.receivable(org, department, budget_line, 1000)
    payment = _create(org, services.AllocationInput(paid))
    services.start_payment(payment=payment, actor=ACTOR)
    services.confirm_payment(payment=payment, source=services.EventSource.SYSTEM, actor=ACTOR)
    with pytest.raises(Conflict, match="bereits bezahlt"):
        _create(org, services.AllocationInput(paid))

    cancelled = factories.receivable(org, department, budget_line, 1000)
    cancel_receivable(actor=ACTOR, receivable=cancelled, reason="Bescheid aufgehoben")
    with pytest.raises(Conflict, match="storniert"):
        _create(org, services.AllocationInput(cancelled))

    other = factories.organisation()
    foreign = factories.receivable(
        other, factories.department(other), factories.budget_line(other), 1000
    )
    with pytest.raises(Conflict, match="nicht zu dieser Organisation"):
        _create(org, services.AllocationInput(foreign))
    assert Payment.objects.count() == 1


def test_a_refused_basket_creates_nothing(
    org: Organisation, department: Department, budget_line: BudgetLine
) -> None:
    good = factories.receivable(org, department, budget_line, 1000)
    cancelled = factories.receivable(org, department, budget_line, 1000)
    cancel_receivable(actor=ACTOR, receivable=cancelled, reason="aufgehoben")
    with pytest.raises(Conflict):
        _create(org, services.AllocationInput(good), services.AllocationInput(cancelled))
    assert not Payment.objects.exists()
    assert not PaymentAllocation.objects.exists()


def test_the_same_receivable_twice_in_a_basket_is_refused(
    org: Organisation, department: Department, budget_line: BudgetLine
) -> None:
    receivable = factories.receivable(org, department, budget_line, 1000)
    with pytest.raises(ValidationFailed, match="nur einmal"):
        _create(
            org,
            services.AllocationInput(receivable, 100),
            services.AllocationInput(receivable, 100),
        )


def test_method_must_be_offered_by_provider_and_allowed_by_the_service(
    org: Organisation, department: Department, budget_line: BudgetLine
) -> None:
    service = factories.service(org, department, budget_line, payment_methods=["paypal"])
    receivable = factories.receivable(org, department, budget_line, 1000, service=service)
    with pytest.raises(services.PaymentRefused, match="nicht vorgesehen"):
        _create(org, services.AllocationInput(receivable), method="card")
    with pytest.raises(services.PaymentRefused, match="bietet die Zahlart"):
        _create(org, services.AllocationInput(receivable), method="bank_transfer")
    assert _create(org, services.AllocationInput(receivable), method="paypal").method == "paypal"


def test_unknown_provider_is_refused(
    org: Organisation, department: Department, budget_line: BudgetLine
) -> None:
    receivable = factories.receivable(org, department, budget_line, 1000)
    with pytest.raises(UnknownProvider):
        services.create_payment(
            actor=ACTOR,
            organisation=org,
            allocations=[services.AllocationInput(receivable)],
            provider="nowhere",
            method="card",
        )


def test_idempotency_key_returns_the_first_payment(
    org: Organisation, department: Department, budget_line: BudgetLine
) -> None:
    receivable = factories.receivable(org, department, budget_line, 1000)
    first = _create(org, services.AllocationInput(receivable), idempotency_key="abc")
    again = _create(org, services.AllocationInput(receivable), idempotency_key="abc")
    assert first.pk == again.pk
    assert Payment.objects.count() == 1


def test_creation_schedules_the_expiry_check(
    org: Organisation, department: Department, budget_line: BudgetLine, run_tasks: object
) -> None:
    from django_tasks import default_task_backend

    from tests.conftest import _flush_on_commit

    receivable = factories.receivable(org, department, budget_line, 1000)
    payment = _create(org, services.AllocationInput(receivable))
    _flush_on_commit()
    scheduled = [r for r in default_task_backend.results if r.task.name == "check_payment"]  # type: ignore[attr-defined]
    assert [(r.args, r.task.run_after) for r in scheduled] == [([payment.pk], payment.expires_at)]


def test_the_database_refuses_an_unknown_method_or_event_source(
    org: Organisation, department: Department, budget_line: BudgetLine
) -> None:
    from django.db import IntegrityError, transaction

    from rathauskasse.payments.models import PaymentEvent

    payment = _create(
        org, services.AllocationInput(factories.receivable(org, department, budget_line))
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        Payment.objects.filter(pk=payment.pk).update(method="cash")
    with pytest.raises(IntegrityError), transaction.atomic():
        PaymentEvent.objects.create(
            payment=payment, created_at=payment.created_at, kind="x", source="rumour"
        )
