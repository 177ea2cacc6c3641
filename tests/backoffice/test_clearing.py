"""The clearing queue's pages: who sees them, filters, a line's page and its forms."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from rathauskasse.organisations.models import BudgetLine, Department, Organisation, Role
from rathauskasse.receivables import selectors as receivable_selectors
from rathauskasse.receivables.models import Receivable
from rathauskasse.receivables.services import Debtor
from rathauskasse.reconciliation.models import BankAccount, ClearingStatus, StatementLine
from tests import factories
from tests.backoffice.conftest import member
from tests.reconciliation.conftest import IBAN, line, run

pytestmark = pytest.mark.django_db


@pytest.fixture
def bank_account(org: Organisation) -> BankAccount:
    return BankAccount.objects.create(organisation=org, iban=IBAN, name="Sparkasse Girokonto")


@pytest.fixture
def receivable(
    org: Organisation, department: Department, budget_line: BudgetLine, bank_account: BankAccount
) -> Receivable:
    return factories.receivable(
        org, department, budget_line, 4500, debtor=Debtor(name="Hans Yılmaz")
    )


def _line(org: Organisation, cents: int, text: str, **fields: Any) -> StatementLine:
    run(org, [line(cents, text, **fields)])
    return StatementLine.objects.filter(organisation=org).latest("id")


def test_a_clerk_of_a_department_does_not_see_the_queue(
    client: Client, org: Organisation, department: Department
) -> None:
    client.force_login(member(org, "amt", Role.CLERK, department=department))
    assert client.get("/verwaltung/klaerung/").status_code == 403


def test_the_queue_lists_what_is_to_do_and_filters_it(
    cash_client: Client, org: Organisation, receivable: Receivable
) -> None:
    _line(org, 4500, "Hundesteuer", counterparty_name="Hans Yilmaz")
    run(org, [line(1999, "Spende", entry=2, counterparty_name="Erika Weiß")])
    run(org, [line(4500, f"KZ {receivable.kassenzeichen}", entry=3)])  # booked: nothing to do
    body = cash_client.get("/verwaltung/klaerung/").content.decode()
    assert "2 Zeilen" in body
    assert "Hundesteuer" in body and "Spende" in body
    assert "zu erledigen (2)" in body
    assert "Hans Yilmaz" in cash_client.get("/verwaltung/klaerung/?name=yilmaz").content.decode()
    assert "Spende" not in cash_client.get("/verwaltung/klaerung/?name=yilmaz").content.decode()
    by_amount = cash_client.get("/verwaltung/klaerung/?betrag_von=20&betrag_bis=45,00")
    assert "1 Zeile" in by_amount.content.decode() and "Hundesteuer" in by_amount.content.decode()
    assert "1 Zeile" in cash_client.get("/verwaltung/klaerung/?text=spende").content.decode()
    none = cash_client.get("/verwaltung/klaerung/?datum_von=2030-01-01").content.decode()
    assert "Keine Zeilen mit diesen Filtern." in none


def test_a_filter_that_is_not_an_amount_is_explained(cash_client: Client) -> None:
    response = cash_client.get("/verwaltung/klaerung/?betrag_von=12,5O")
    assert response.status_code == 422
    assert "„12,5O“ ist kein Betrag" in response.content.decode()


def test_a_line_shows_its_decision_and_a_suggestion_to_take_over(
    cash_client: Client, org: Organisation, receivable: Receivable
) -> None:
    row = _line(org, 4500, "Hundesteuer", counterparty_name="YILMAZ HANS")
    body = cash_client.get(f"/verwaltung/klaerung/{row.pk}/").content.decode()
    assert "kein Kassenzeichen" in body
    assert f"{receivable.kassenzeichen} übernehmen" in body
    assert "gleicher Betrag" in body
    prefilled = cash_client.get(
        f"/verwaltung/klaerung/{row.pk}/?zuordnen={receivable.kassenzeichen}"
    ).content.decode()
    assert f'value="{receivable.kassenzeichen}"' in prefilled
    assert 'value="45,00"' in prefilled


def test_assigning_through_the_form_books_and_says_so(
    cash_client: Client, org: Organisation, receivable: Receivable
) -> None:
    row = _line(org, 4500, "Hundesteuer")
    response = cash_client.post(
        f"/verwaltung/klaerung/{row.pk}/assign/",
        {"kz_0": receivable.kassenzeichen_display, "betrag_0": "45,00", "comment": "passt"},
        follow=True,
    )
    assert "Die Zeile ist zugeordnet und gebucht." in response.content.decode()
    row.refresh_from_db()
    assert row.clearing_status == ClearingStatus.CLEARED
    assert receivable_selectors.open_amount(receivable=receivable) == 0
    assert "zugeordnet von kasse" in response.content.decode()


def test_a_wrong_sum_is_shown_in_the_error_summary_and_nothing_is_booked(
    cash_client: Client, org: Organisation, receivable: Receivable
) -> None:
    row = _line(org, 4500, "Hundesteuer")
    response = cash_client.post(
        f"/verwaltung/klaerung/{row.pk}/assign/",
        {"kz_0": receivable.kassenzeichen, "betrag_0": "40", "kz_1": "", "betrag_1": "abc"},
    )
    body = response.content.decode()
    assert response.status_code == 422
    assert "<title>Fehler:" in body
    assert "„abc“ ist kein Betrag" in body
    assert 'href="#feld-betrag_1"' in body
    row.refresh_from_db()
    assert row.clearing_status == ClearingStatus.OPEN
    assert receivable_selectors.open_amount(receivable=receivable) == 4500


def test_undo_and_refund_through_their_forms(
    cash_client: Client, org: Organisation, receivable: Receivable
) -> None:
    run(org, [line(4500, f"KZ {receivable.kassenzeichen}")])
    row = StatementLine.objects.get(organisation=org)
    page = cash_client.get(f"/verwaltung/klaerung/{row.pk}/").content.decode()
    assert "Hebt auf: Buchung beim Import" in page
    missing = cash_client.post(f"/verwaltung/klaerung/{row.pk}/undo/", {"comment": ""})
    assert missing.status_code == 422
    assert "Bitte begründen Sie" in missing.content.decode()
    cash_client.post(f"/verwaltung/klaerung/{row.pk}/undo/", {"comment": "falsch gelesen"})
    assert receivable_selectors.open_amount(receivable=receivable) == 4500
    refused = cash_client.post(
        f"/verwaltung/klaerung/{row.pk}/refund/", {"iban": "DE00", "name": "Erika"}
    )
    assert refused.status_code == 422
    assert "Diese IBAN ist nicht gültig" in refused.content.decode()
    cash_client.post(
        f"/verwaltung/klaerung/{row.pk}/refund/",
        {"iban": "DE75512108001245126199", "name": "Erika Mustermann"},
    )
    row.refresh_from_db()
    assert row.clearing_status == ClearingStatus.REFUND


def test_a_finished_line_refuses_a_second_assignment_readably(
    cash_client: Client, org: Organisation, receivable: Receivable
) -> None:
    row = _line(org, 4500, "Hundesteuer")
    data = {"kz_0": receivable.kassenzeichen, "betrag_0": "45,00"}
    cash_client.post(f"/verwaltung/klaerung/{row.pk}/assign/", data)
    again = cash_client.post(f"/verwaltung/klaerung/{row.pk}/assign/", data)
    assert again.status_code == 409
    assert "Diese Zeile ist geklärt" in again.content.decode()


def test_lines_of_another_organisation_are_not_found(
    client: Client, org: Organisation, bank_account: BankAccount, settings: Any
) -> None:
    row = _line(org, 700, "x")
    other = factories.organisation()
    client.force_login(member(other, "fremde-kasse", Role.CASH_OFFICE))
    # On our host the other cashier has no role; on their own, our line does not exist.
    assert client.get(f"/verwaltung/klaerung/{row.pk}/").status_code == 403
    settings.PORTAL_ORGANISATION = other.slug
    assert client.get(f"/verwaltung/klaerung/{row.pk}/").status_code == 404
    assert (
        client.post(f"/verwaltung/klaerung/{row.pk}/comment/", {"comment": "x"}).status_code == 404
    )


def test_unknown_actions_and_lines_are_404(
    cash_client: Client, org: Organisation, bank_account: BankAccount
) -> None:
    row = _line(org, 700, "x")
    assert cash_client.post(f"/verwaltung/klaerung/{row.pk}/loeschen/").status_code == 404
    assert cash_client.get("/verwaltung/klaerung/999999/").status_code == 404
