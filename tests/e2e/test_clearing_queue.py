"""The cash office clears a bank line in a real browser: sign in, find it, take a suggestion.

Every page is checked with axe-core (WCAG 2.1 A/AA, zero violations), the sign-in is done with
the keyboard alone, and the pages fit a 320 px wide screen.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from rathauskasse.core.models import User
from rathauskasse.organisations.models import Membership, Organisation, Role
from rathauskasse.receivables import selectors as receivable_selectors
from rathauskasse.receivables.models import Receivable
from rathauskasse.receivables.services import Debtor
from rathauskasse.reconciliation.models import BankAccount, ClearingStatus, StatementLine
from tests import factories
from tests.e2e.conftest import axe_violations, describe
from tests.reconciliation.conftest import IBAN, line, run

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]


@pytest.fixture
def city(db: None, settings: Any) -> Organisation:
    org = factories.organisation()
    settings.PORTAL_ORGANISATION = org.slug
    BankAccount.objects.create(organisation=org, iban=IBAN, name="Sparkasse Girokonto")
    user = User.objects.create_user("kasse", password="geheim-2026", first_name="Karl")
    Membership.objects.create(user=user, organisation=org, role=Role.CASH_OFFICE)
    return org


@pytest.fixture
def waiting(city: Organisation) -> tuple[StatementLine, Receivable]:
    department = factories.department(city)
    budget_line = factories.budget_line(city)
    receivable = factories.receivable(
        city, department, budget_line, 4500, debtor=Debtor(name="Hans Yılmaz")
    )
    factories.receivable(city, department, budget_line, 1200, debtor=Debtor(name="Erika Weiß"))
    run(city, [line(4500, "Hundesteuer Bello", counterparty_name="YILMAZ, HANS")])
    return StatementLine.objects.get(organisation=city), receivable


@pytest.fixture
def office(page: Page, live_server: Any) -> Page:
    page.set_default_timeout(10_000)
    return page


def accessible(page: Page) -> None:
    violations = axe_violations(page)
    assert violations == [], describe(violations)


def sign_in_with_the_keyboard(page: Page, url: str) -> None:
    page.goto(url + "/verwaltung/")
    expect(page.get_by_role("heading", name="Anmelden in der Verwaltung")).to_be_visible()
    accessible(page)
    page.keyboard.press("Tab")  # the skip link
    page.keyboard.press("Tab")  # the brand link
    page.keyboard.press("Tab")  # the language switch
    page.keyboard.press("Tab")
    expect(page.locator("#feld-username")).to_be_focused()
    page.keyboard.type("kasse")
    page.keyboard.press("Tab")
    page.keyboard.type("geheim-2026")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Übersicht")).to_be_visible()


def test_the_cash_office_assigns_a_waiting_line_from_a_suggestion(
    office: Page, live_server: Any, waiting: tuple[StatementLine, Receivable]
) -> None:
    row, receivable = waiting
    sign_in_with_the_keyboard(office, live_server.url)
    accessible(office)
    office.get_by_role("link", name="Klärfälle", exact=True).first.click()
    expect(office.get_by_role("heading", name="Klärfälle")).to_be_visible()
    expect(office.get_by_text("1 Zeile", exact=True)).to_be_visible()
    accessible(office)
    office.get_by_role("link", name="Hundesteuer Bello").click()
    expect(office.get_by_role("heading", name="Kontoauszugszeile über 45,00 €")).to_be_visible()
    accessible(office)
    office.get_by_role("link", name=f"{receivable.kassenzeichen} übernehmen").click()
    expect(office.locator("#feld-kz_0")).to_have_value(receivable.kassenzeichen)
    expect(office.locator("#feld-betrag_0")).to_have_value("45,00")
    office.get_by_role("button", name="Zuordnen und buchen").click()
    expect(office.get_by_text("Die Zeile ist zugeordnet und gebucht.")).to_be_visible()
    accessible(office)
    row.refresh_from_db()
    assert row.clearing_status == ClearingStatus.CLEARED
    assert receivable_selectors.open_amount(receivable=receivable) == 0


def test_a_wrong_sum_is_explained_in_an_error_summary_that_links_to_the_field(
    office: Page, live_server: Any, waiting: tuple[StatementLine, Receivable]
) -> None:
    row, receivable = waiting
    sign_in_with_the_keyboard(office, live_server.url)
    office.goto(f"{live_server.url}/verwaltung/klaerung/{row.pk}/")
    office.locator("#feld-kz_0").fill(receivable.kassenzeichen)
    office.locator("#feld-betrag_0").fill("40,00")
    office.get_by_role("button", name="Zuordnen und buchen").click()
    summary = office.get_by_role("alert")
    expect(summary).to_contain_text("zuzuordnen sind genau 45,00")
    accessible(office)
    assert receivable_selectors.open_amount(receivable=receivable) == 4500


def test_the_queue_and_a_line_fit_a_small_screen(
    office: Page, live_server: Any, waiting: tuple[StatementLine, Receivable]
) -> None:
    row, _receivable = waiting
    sign_in_with_the_keyboard(office, live_server.url)
    office.set_viewport_size({"width": 320, "height": 640})
    for path in ("/verwaltung/", "/verwaltung/klaerung/", f"/verwaltung/klaerung/{row.pk}/"):
        office.goto(live_server.url + path)
        width = office.evaluate("document.documentElement.scrollWidth")
        wide = office.evaluate(
            "[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right"
            " > 320).map(e => e.tagName + '.' + e.className + ':' +"
            " Math.round(e.getBoundingClientRect().right)).slice(0, 8)"
        )
        assert width <= 320, f"{path} is {width} px wide: {wide}"
        accessible(office)
