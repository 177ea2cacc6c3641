"""XBezahldienste on both sides, over real HTTP: Rathauskasse pays through Rathauskasse.

The city's portal pays through the client provider (`providers/xbezahldienste`), which talks
HTTP to the live test server's XBezahldienste server (`api/xbezahldienste`), configured for a
second organisation, the district's cash office. The district takes the money through the
sandbox. A citizen applies in the city's portal, pays on the sandbox's page, comes back through
the district's return address to the city's status page; the city learns of the payment by
polling the district (the standard has no notification). Both organisations book it, each in its
own ledger.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from rathauskasse.api.models import XBezahldiensteTransaction
from rathauskasse.api.xbezahldienste import services as xbezahldienste
from rathauskasse.applications.models import Application, ApplicationStatus
from rathauskasse.core import clock
from rathauskasse.demo.loader import load
from rathauskasse.ledger import selectors as ledger_selectors
from rathauskasse.ledger.models import JournalLine
from rathauskasse.organisations.models import BudgetLine, Organisation
from rathauskasse.payments.models import Payment, PaymentStatus
from rathauskasse.providers.xbezahldienste.models import Connection
from rathauskasse.receivables.models import Receivable, ReceivableSource, ReceivableStatus
from tests import factories
from tests.e2e.conftest import axe_violations, describe
from tests.e2e.test_portal import SUCCESS, decide_at_sandbox, fill_parking_permit

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]

USER, PASSWORD = "musterstadt", "round-trip-secret-4711"


@dataclass
class Sides:
    city: Organisation  # the client: its portal pays through XBezahldienste
    district: Organisation  # the server: the Bezahldienst the city's connection points at


@pytest.fixture
def sides(db: None, live_server: Any, settings: Any) -> Sides:
    city = load(today=clock.today()).organisation
    district = factories.organisation(name="Kreiskasse Beispielkreis", slug="beispielkreis")
    department = factories.department(district, name="Kreiskasse")
    # The two sides agree on the budget line codes that travel in the items' bookingData.
    for line in BudgetLine.objects.filter(organisation=city):
        factories.budget_line(district, code=line.code)
    default_line = factories.budget_line(district, code="999999.000000")
    xbezahldienste.create_endpoint(
        actor=factories.ACTOR,
        organisation=district,
        name="Bezahldienst für Musterstadt",
        originator_id="rk-musterstadt",
        endpoint_id="05358008",
        department=department,
        default_budget_line=default_line,
        provider="sandbox",
        booking_data_mapping={"Haushaltsstelle": "budget_line"},
        required_booking_keys=["Haushaltsstelle"],
        basic_username=USER,
        basic_password=PASSWORD,
    )
    settings.XBEZAHLDIENSTE_ALLOW_HTTP = True
    connection = Connection(
        organisation=city,
        name="Bezahldienst des Kreises",
        base_url=f"{live_server.url}/xbezahldienste/v1/",
        originator_id="rk-musterstadt",
        endpoint_id="05358008",
        auth_mode="basic",
        basic_user=USER,
        basic_password=PASSWORD,
    )
    connection.full_clean()
    connection.save()
    settings.PORTAL_ORGANISATION = city.slug
    settings.PORTAL_PAYMENT_PROVIDER = "xbezahldienste"
    return Sides(city=city, district=district)


@pytest.fixture
def portal(page: Page, live_server: Any, sides: Sides) -> Iterator[Page]:
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.set_default_timeout(15_000)
    page.goto(live_server.url + "/leistungen/anwohnerparkausweis/antrag/")
    yield page
    foreign = [url for url in requested if not url.startswith(live_server.url)]
    assert foreign == [], foreign


def apply_and_pay(page: Page, outcome: str) -> None:
    fill_parking_permit(page)
    page.get_by_label("Kredit- oder Debitkarte").check()
    page.get_by_role("button", name=re.compile("Zahlungspflichtig beantragen")).click()
    # The district's payment runs on the sandbox's hosted page.
    decide_at_sandbox(page, outcome)


def provider_clearing_balance(org: Organisation, provider: str) -> int:
    lines = JournalLine.objects.filter(
        entry__organisation=org, account__key=f"provider_clearing:{provider}"
    )
    return sum(lines.values_list("amount_cents", flat=True))


def books_balance(org: Organisation) -> None:
    report = ledger_selectors.check_integrity(organisation_id=org.pk)
    assert report.ok, report.problems


def test_a_portal_payment_through_our_own_xbezahldienste_server_is_booked_on_both_sides(
    portal: Page, sides: Sides
) -> None:
    apply_and_pay(portal, "Zahlung gelingt")

    # Back at the city's status page, which polled the district and found PAYED.
    expect(portal.get_by_role("heading", level=1)).to_have_text(SUCCESS)
    violations = axe_violations(portal)
    assert violations == [], describe(violations)

    application = Application.objects.get(organisation=sides.city)
    assert application.status == ApplicationStatus.SUBMITTED
    city_payment = Payment.objects.get(organisation=sides.city, provider="xbezahldienste")
    assert city_payment.provider == "xbezahldienste"
    assert city_payment.status == PaymentStatus.SUCCEEDED
    assert application.receivable is not None
    application.receivable.refresh_from_db()
    assert application.receivable.status == ReceivableStatus.PAID

    transaction = XBezahldiensteTransaction.objects.get()
    assert transaction.request_id == str(city_payment.public_id)
    information = xbezahldienste.describe(transaction)["paymentInformation"]
    assert information["status"] == "PAYED"
    district_receivable = Receivable.objects.get(organisation=sides.district)
    assert district_receivable.source == ReceivableSource.XBEZAHLDIENSTE
    assert district_receivable.status == ReceivableStatus.PAID
    assert district_receivable.amount_cents == city_payment.amount_cents == 3070
    assert information["transactionReference"] == district_receivable.kassenzeichen
    district_payment = Payment.objects.get(organisation=sides.district)
    assert district_payment.provider == "sandbox"
    assert district_payment.status == PaymentStatus.SUCCEEDED

    # Each side booked the money once, on its own provider's clearing account.
    assert provider_clearing_balance(sides.city, "xbezahldienste") == 3070
    assert provider_clearing_balance(sides.district, "sandbox") == 3070
    books_balance(sides.city)
    books_balance(sides.district)


def test_a_declined_payment_fails_on_both_sides_and_leaves_nothing_owed_to_the_district(
    portal: Page, sides: Sides
) -> None:
    apply_and_pay(portal, "Zahlung wird abgelehnt")

    expect(portal.get_by_role("heading", level=1)).to_have_text("Die Zahlung wurde abgelehnt")
    expect(portal.get_by_role("link", name="Erneut bezahlen")).to_be_visible()

    city_payment = Payment.objects.get(organisation=sides.city, provider="xbezahldienste")
    assert city_payment.status == PaymentStatus.FAILED
    application = Application.objects.get(organisation=sides.city)
    assert application.status == ApplicationStatus.AWAITING_PAYMENT
    transaction = XBezahldiensteTransaction.objects.get()
    assert xbezahldienste.describe(transaction)["paymentInformation"]["status"] == "FAILED"
    # The district cancelled its receivable by reversal: it is owed nothing for a failed payment.
    district_receivable = Receivable.objects.get(organisation=sides.district)
    assert district_receivable.status == ReceivableStatus.CANCELLED
    assert provider_clearing_balance(sides.city, "xbezahldienste") == 0
    assert provider_clearing_balance(sides.district, "sandbox") == 0
    books_balance(sides.city)
    books_balance(sides.district)
