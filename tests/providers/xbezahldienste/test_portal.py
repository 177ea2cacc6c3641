"""A citizen pays in the portal through an XBezahldienste service and returns to the status page."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from rathauskasse.applications.models import Application, ApplicationStatus
from rathauskasse.catalogue.models import Service
from rathauskasse.ledger.models import JournalEntry
from rathauskasse.organisations.models import BudgetLine, Department, Organisation
from rathauskasse.payments.models import Payment, PaymentStatus
from rathauskasse.providers.xbezahldienste.adapter import XBezahldiensteProvider
from rathauskasse.providers.xbezahldienste.models import Connection
from tests import factories
from tests.portal.test_views import review_url
from tests.providers.xbezahldienste.conftest import FakeService, json_of, recorded

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _portal_pays_through_xbezahldienste(
    org: Organisation, settings: Any, connection: Connection, provider: XBezahldiensteProvider
) -> None:
    settings.PORTAL_ORGANISATION = org.slug
    settings.PORTAL_PAYMENT_PROVIDER = "xbezahldienste"


@pytest.fixture
def service_offered(org: Organisation, department: Department, budget_line: BudgetLine) -> Service:
    return factories.service(org, department, budget_line, slug="beglaubigung")


def test_pay_at_the_service_and_the_return_page_shows_the_success(
    client: Client, service_offered: Service, service: FakeService
) -> None:
    response = client.post(review_url(client, service_offered), {"method": "card"})
    assert response.status_code == 302
    payment = Payment.objects.get()
    (transaction_id,) = service.transactions
    assert response["Location"] == f"https://bezahldienst.example/bezahlen/{transaction_id}"
    sent = json_of(service.posts()[0])
    assert sent["redirectUrl"] == f"http://testserver/zahlung/{payment.public_id}/"
    assert sent["purpose"].startswith(payment.description.split(" ")[0])

    # Back before the service decided: the page waits and reloads itself.
    waiting = client.get(f"/zahlung/{payment.public_id}/")
    assert waiting.headers["Refresh"] == "3"

    service.set_status(str(payment.public_id), "PAYED", paymentMethod="CREDITCARD")
    page = client.get(f"/zahlung/{payment.public_id}/")  # asks the service right away
    assert "Vielen Dank, Ihre Zahlung ist eingegangen" in page.content.decode()
    assert "Refresh" not in page.headers
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED
    assert Application.objects.get().status == ApplicationStatus.SUBMITTED
    client.get(f"/zahlung/{payment.public_id}/")  # a reload changes nothing
    assert JournalEntry.objects.filter(kind="payment_succeeded").count() == 1
    assert len(service.gets()) == 2


def test_a_refusing_service_is_explained_in_german_and_the_application_kept(
    client: Client, service_offered: Service, service: FakeService
) -> None:
    service.faults.append(recorded("problem_booking_data_missing"))
    response = client.post(review_url(client, service_offered), {"method": "card"}, follow=True)
    page = response.content.decode()
    assert "Der Zahlungsdienst hat die Zahlung nicht angenommen" in page
    assert "BOOKING_DATA_MISSING" not in page
    assert Application.objects.get().status == ApplicationStatus.AWAITING_PAYMENT
    assert Payment.objects.get().status == PaymentStatus.FAILED
