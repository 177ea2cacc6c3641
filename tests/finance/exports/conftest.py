"""Books to export: receivables, payments, a refund, a returned payment and a cancellation."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import LazySettings

from rathauskasse.core import clock
from rathauskasse.finance import presets, services
from rathauskasse.finance.models import ExportProfile
from rathauskasse.ledger import services as ledger_services
from rathauskasse.ledger.models import JournalEntry
from rathauskasse.organisations.models import BudgetLine, Department, Organisation
from rathauskasse.payments import services as payment_services
from rathauskasse.payments.models import Payment
from rathauskasse.receivables.models import Receivable
from rathauskasse.receivables.services import cancel_receivable
from tests import factories

ACTOR = factories.ACTOR
DAY = dt.datetime(2026, 11, 30, 10, 0, tzinfo=clock.BERLIN)


@pytest.fixture(autouse=True)
def _media(settings: LazySettings, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = str(tmp_path / "media")


def paid(org: Organisation, *receivables: Receivable, method: str = "card") -> Payment:
    from rathauskasse.providers.sandbox import server

    payment = factories.payment(org, *receivables, method=method)
    payment_services.start_payment(payment=payment, actor=ACTOR)
    payment.refresh_from_db()
    server.decide(
        reference=payment.provider_reference, outcome=server.Outcome.SUCCEED, payer_method=method
    )
    return payment_services.sync_payment(payment=payment)


def returned(payment: Payment) -> JournalEntry:
    """The payment's posting reversed, as a returned direct debit is booked."""
    entry = JournalEntry.objects.get(idempotency_key=f"payment:{payment.pk}:succeeded")
    return ledger_services.reverse(entry=entry, text="Rücklastschrift", actor=ACTOR)


@dataclass
class Books:
    org: Organisation
    receivables: list[Receivable] = field(default_factory=list)
    payments: list[Payment] = field(default_factory=list)


@pytest.fixture
def books(org: Organisation, department: Department, budget_line: BudgetLine) -> Books:
    """On 30.11.2026: three receivables, two paid (card, debit), a refund, a returned debit,
    a cancelled receivable; on 01.12.2026 one more payment."""
    books = Books(org)
    with clock.frozen(DAY):
        first = factories.receivable(org, department, budget_line, 3070, purpose="Hundesteuer")
        second = factories.receivable(org, department, budget_line, 1250, 500)
        third = factories.receivable(org, department, budget_line, 999)
        cancelled = factories.receivable(org, department, budget_line, 4200)
        books.receivables += [first, second, third, cancelled]
        card = paid(org, first)
        debit = paid(org, second, method="sepa_debit")
        books.payments += [card, debit]
        payment_services.refund_payment(actor=ACTOR, payment=card, amount_cents=1000, reason="x")
        returned(debit)
        cancel_receivable(actor=ACTOR, receivable=cancelled, reason="Doppelt angelegt")
    with clock.frozen(DAY + dt.timedelta(days=1)):
        books.payments.append(paid(org, third, method="paypal"))
    return books


def preset_profile(org: Organisation, name: str, **changes: object) -> ExportProfile:
    return services.create_export_profile(
        actor=ACTOR, organisation=org, **{**presets.fields(name), **changes}
    )
