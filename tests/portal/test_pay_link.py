"""The pay-link page of a letter (/p/<token>/): the notice's lines, payment, the GiroCode."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from rathauskasse.core import epcqr, qr
from rathauskasse.organisations.models import BudgetLine, Department, Organisation
from rathauskasse.payments.models import Payment
from rathauskasse.portal import session
from rathauskasse.receivables import notices
from rathauskasse.receivables.models import Receivable
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _portal_of(org: Organisation, settings: Any) -> None:
    settings.PORTAL_ORGANISATION = org.slug


@pytest.fixture
def notice(org: Organisation, department: Department, budget_line: BudgetLine) -> Receivable:
    return factories.receivable(org, department, budget_line, 2500, 700, purpose="Hundesteuer")


def test_the_page_shows_the_lines_the_open_amount_and_the_bank_details(
    client: Client, notice: Receivable, org: Organisation
) -> None:
    page = client.get(f"/p/{notice.pay_token}/").content.decode()
    assert "Hundesteuer" in page
    assert "Position 1" in page and "Position 2" in page
    assert "32,00\u00a0€" in page
    assert "DE02 1203 0000 0000 2020 51" in page
    assert notice.kassenzeichen in page  # the remittance to type
    assert f'src="/p/{notice.pay_token}/girocode.svg"' in page
    assert 'alt="GiroCode für die Überweisung von 32,00' in page
    assert "Erika Mustermann" not in page  # never the debtor
    assert "<style" not in page and "style=" not in page and "<script" not in page


def test_the_girocode_image_holds_the_open_amount(client: Client, notice: Receivable) -> None:
    response = client.get(f"/p/{notice.pay_token}/girocode.svg")
    assert response["Content-Type"].startswith("image/svg+xml")
    assert response["Cache-Control"] == "private, no-store"
    transfer = notices.girocode_for(receivable=notice, open_cents=3200)
    assert epcqr.payload(transfer).split("\n")[7] == "EUR32"
    expected = qr.svg(epcqr.qr_code(transfer), title="GiroCode für die Überweisung")
    assert response.content.decode() == expected
    assert "<script" not in expected


def test_paying_from_the_page_pays_this_notice_alone(
    client: Client,
    notice: Receivable,
    org: Organisation,
    department: Department,
    budget_line: BudgetLine,
) -> None:
    other = factories.receivable(org, department, budget_line, 900)
    client.get("/")
    basket = client.session
    basket[session.BASKET] = [other.pk]
    basket.save()

    response = client.post(
        f"/p/{notice.pay_token}/zahlen/", {"method": "card", "attempt": "x1", "email": ""}
    )

    assert response.status_code == 302
    payment = Payment.objects.get()
    assert list(payment.allocations.values_list("receivable_id", "amount_cents")) == [
        (notice.pk, 3200)
    ]


def test_a_missing_method_is_explained_on_the_page(client: Client, notice: Receivable) -> None:
    response = client.post(f"/p/{notice.pay_token}/zahlen/", {"attempt": "x"})
    assert response.status_code == 422
    assert "Bitte wählen Sie, wie Sie bezahlen möchten." in response.content.decode()


def test_another_organisations_link_and_code_are_not_found(client: Client) -> None:
    other = factories.organisation()
    theirs = factories.receivable(other, factories.department(other), factories.budget_line(other))
    assert client.get(f"/p/{theirs.pay_token}/").status_code == 404
    assert client.get(f"/p/{theirs.pay_token}/girocode.svg").status_code == 404
    assert client.post(f"/p/{theirs.pay_token}/zahlen/", {"method": "card"}).status_code == 404
