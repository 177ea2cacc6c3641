"""Provider payouts end to end: the sandbox pays out succeeded payments under a PAYOUT-…
reference, reports them, and the bank line carrying it clears the provider's account."""

from __future__ import annotations

import csv
import io

import pytest
from django.test import Client
from django.urls import reverse

from rathauskasse.core.models import User
from rathauskasse.ledger import selectors as ledger_selectors
from rathauskasse.organisations.models import BudgetLine, Department, Organisation
from rathauskasse.payments import selectors as payment_selectors
from rathauskasse.payments import services as payment_services
from rathauskasse.payments.models import Payment, PaymentStatus
from rathauskasse.providers.sandbox import server
from rathauskasse.providers.sandbox.models import SandboxPayout
from rathauskasse.reconciliation.models import BankAccount, Outcome, Rule, StatementLine
from tests import factories
from tests.reconciliation.conftest import IBAN, balances, info, line, run

pytestmark = pytest.mark.django_db
CLEARING = "provider_clearing:sandbox"


def _paid(
    org: Organisation, department: Department, budget_line: BudgetLine, cents: int
) -> Payment:
    receivable = factories.receivable(org, department, budget_line, cents)
    payment = factories.payment(org, receivable)
    payment_services.start_payment(payment=payment, actor=factories.ACTOR)
    payment.refresh_from_db()
    server.decide(
        reference=payment.provider_reference, outcome=server.Outcome.SUCCEED, payer_method="card"
    )
    payment = payment_services.sync_payment(payment=payment)
    assert payment.status == PaymentStatus.SUCCEEDED
    return payment


@pytest.fixture
def payments(
    org: Organisation, department: Department, budget_line: BudgetLine, bank_account: BankAccount
) -> list[Payment]:
    return [_paid(org, department, budget_line, cents) for cents in (3070, 1500)]


def _payout(payments: list[Payment], fee: int = 25) -> SandboxPayout:
    payout = server.create_payout(
        payment_references=[str(p.public_id) for p in payments], fee_cents_per_payment=fee
    )
    assert payout is not None
    return payout


def test_the_sandbox_pays_out_succeeded_payments_once_and_reports_them(
    payments: list[Payment],
) -> None:
    payout = _payout(payments)
    assert payout.reference.startswith("PAYOUT-")
    assert (payout.amount_cents, payout.fee_cents) == (4570 - 50, 50)
    report = server.payout_report(payout)
    assert report["amount_cents"] == 4520
    items = report["items"]
    assert isinstance(items, list)
    assert {item["payment_reference"] for item in items} == {str(p.public_id) for p in payments}
    rows = list(csv.DictReader(io.StringIO(server.payout_report_csv(payout)), delimiter=";"))
    assert [int(row["net_cents"]) for row in rows] == [3045, 1475]
    # Paid out once: nothing is left for a second payout.
    assert server.create_payout(payment_references=[str(p.public_id) for p in payments]) is None


def test_a_payout_on_the_statement_clears_the_providers_account(
    org: Organisation, payments: list[Payment]
) -> None:
    assert balances(org)[CLEARING] == 4570
    payout = _payout(payments)
    result = run(
        org, [line(4520, f"SANDBOX AUSZAHLUNG {payout.reference}", counterparty_name="Sandbox")]
    )
    assert result.booked == 1
    stored = StatementLine.objects.get()
    assert (stored.rule, stored.outcome) == (Rule.PAYOUT, Outcome.BOOKED)
    assert (stored.payout_provider, stored.payout_reference) == ("sandbox", payout.reference)
    assert not stored.allocations.exists()
    after = balances(org)
    assert after[CLEARING] == 0
    assert after["fees:sandbox"] == 50
    assert after[f"bank:{IBAN}"] == 4520
    assert ledger_selectors.check_integrity(organisation_id=org.pk).ok


def test_a_payout_is_booked_once(org: Organisation, payments: list[Payment]) -> None:
    payout = _payout(payments)
    text = f"AUSZAHLUNG {payout.reference}"
    run(org, [line(4520, text, account_servicer_reference="P-1")])
    run(
        org,
        [line(4520, text, statement=info(statement_id="NEXT"), account_servicer_reference="P-2")],
    )
    second = StatementLine.objects.get(account_servicer_reference="P-2")
    assert second.outcome == Outcome.CLEARING
    assert balances(org)[CLEARING] == 0
    assert balances(org)["suspense"] == -4520


def test_a_payout_with_another_amount_waits_in_clearing(
    org: Organisation, payments: list[Payment]
) -> None:
    payout = _payout(payments)
    run(org, [line(4570, f"AUSZAHLUNG {payout.reference}")])
    stored = StatementLine.objects.get()
    assert (stored.rule, stored.outcome) == (Rule.PAYOUT, Outcome.CLEARING)
    assert balances(org)[CLEARING] == 4570


def test_another_organisations_payout_is_not_found(
    org: Organisation, payments: list[Payment]
) -> None:
    payout = _payout(payments)
    other = factories.organisation()
    assert (
        payment_selectors.find_payouts(organisation_id=other.pk, references=[payout.reference])
        == {}
    )
    found = payment_selectors.find_payouts(organisation_id=org.pk, references=[payout.reference])
    assert found[payout.reference].payment_ids == tuple(sorted(p.pk for p in payments))
    assert found[payout.reference].gross_cents == 4570


def test_the_payout_report_downloads_from_the_sandbox_admin(
    client: Client, payments: list[Payment]
) -> None:
    payout = _payout(payments)
    client.force_login(User.objects.create_superuser("admin", "admin@example.org", "pw"))
    response = client.get(reverse("admin:sandbox_sandboxpayout_report", args=[payout.pk, "csv"]))
    assert response.status_code == 200
    assert payout.reference in response.content.decode()
    assert "attachment" in response["Content-Disposition"]
    response = client.get(reverse("admin:sandbox_sandboxpayout_report", args=[payout.pk, "json"]))
    assert response.json()["amount_cents"] == 4520
    listing = client.get(reverse("admin:sandbox_sandboxpayout_changelist"))
    assert payout.reference in listing.content.decode()


def test_the_sandbox_admin_pays_out_selected_transactions(
    client: Client, payments: list[Payment]
) -> None:
    client.force_login(User.objects.create_superuser("admin", "admin@example.org", "pw"))
    from rathauskasse.providers.sandbox.models import SandboxTransaction

    ids = list(SandboxTransaction.objects.values_list("pk", flat=True))
    response = client.post(
        reverse("admin:sandbox_sandboxtransaction_changelist"),
        {"action": "pay_out", "_selected_action": ids},
        follow=True,
    )
    assert response.status_code == 200
    payout = SandboxPayout.objects.get()
    assert payout.amount_cents == 4570
    assert payout.reference in response.content.decode()
