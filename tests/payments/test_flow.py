"""A payment from creation to booking, through the sandbox provider's real HTTP notification."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from rathauskasse.ledger import selectors as ledger_selectors
from rathauskasse.ledger.models import JournalEntry
from rathauskasse.organisations.models import BudgetLine, Department, Organisation
from rathauskasse.payments import services
from rathauskasse.payments.models import PaymentStatus
from rathauskasse.providers.sandbox import server
from rathauskasse.providers.sandbox.server import Outcome
from rathauskasse.receivables import selectors as receivable_selectors
from rathauskasse.receivables.models import ReceivableStatus
from tests import factories

pytestmark = pytest.mark.django_db


def test_paid_through_the_sandbox_is_booked_once(
    org: Organisation,
    department: Department,
    budget_line: BudgetLine,
    run_tasks: Callable[[], list[str]],
) -> None:
    receivable = factories.receivable(org, department, budget_line, 3070)
    payment = factories.payment(org, receivable)
    redirect = services.start_payment(payment=payment, actor=factories.ACTOR)
    assert redirect.startswith("http://testserver/sandbox/bezahlen/sbx_")

    payment.refresh_from_db()
    server.decide(
        reference=payment.provider_reference, outcome=Outcome.SUCCEED, payer_method="card"
    )
    assert "deliver_notification" in run_tasks()

    payment.refresh_from_db()
    receivable.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED
    assert receivable.status == ReceivableStatus.PAID
    assert receivable_selectors.open_amount(receivable=receivable) == 0
    assert JournalEntry.objects.filter(reference=f"payment:{payment.public_id}").count() == 1
    assert ledger_selectors.check_integrity().ok
