"""A payer on the sandbox's hosted page: keyboard only, accessible, and the money is booked."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from rathauskasse.ledger.models import JournalEntry
from rathauskasse.payments import services
from rathauskasse.payments.models import Payment, PaymentStatus
from rathauskasse.providers.sandbox import server
from tests import factories
from tests.e2e.conftest import axe_violations

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]


@pytest.fixture
def hosted_page(
    live_server: Any, page: Page, monkeypatch: pytest.MonkeyPatch
) -> tuple[Payment, str]:
    monkeypatch.setattr(server, "http_transport", None)  # notifications go over real HTTP
    org = factories.organisation()
    receivable = factories.receivable(
        org, factories.department(org), factories.budget_line(org), 3070
    )
    payment = factories.payment(org, receivable, return_url=f"{live_server.url}/admin/login/")
    url = services.start_payment(payment=payment, actor=factories.ACTOR)
    return Payment.objects.get(pk=payment.pk), url


def test_paying_with_the_keyboard_books_the_payment(
    page: Page, hosted_page: tuple[Payment, str], run_tasks: Callable[[], list[str]]
) -> None:
    payment, url = hosted_page
    page.goto(url)
    expect(page.get_by_role("note")).to_contain_text("TESTZAHLUNG")
    expect(page.get_by_role("heading", level=1)).to_have_text("Testzahlung")
    expect(page.locator(".amount")).to_have_text("30,70\u00a0€")

    page.keyboard.press("Tab")  # into the first group, on its checked radio
    expect(page.get_by_label("Kreditkarte")).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(page.get_by_label("PayPal")).to_be_checked()
    page.keyboard.press("Tab")
    expect(page.get_by_label("Zahlung gelingt")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Weiter")).to_be_focused()
    page.keyboard.press("Enter")
    page.wait_for_url("**/admin/login/**")

    assert "deliver_notification" in run_tasks()  # POSTs to the live server
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED
    assert JournalEntry.objects.filter(kind="payment_succeeded").count() == 1


def test_a_declined_payment_is_shown_as_such_when_the_page_is_opened_again(
    page: Page, hosted_page: tuple[Payment, str], run_tasks: Callable[[], list[str]]
) -> None:
    payment, url = hosted_page
    page.goto(url)
    page.get_by_label("Zahlung wird abgelehnt").check()
    page.get_by_role("button", name="Weiter").click()
    page.wait_for_url("**/admin/login/**")
    run_tasks()
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.FAILED
    page.goto(url)
    expect(page.get_by_role("status")).to_have_text("Diese Testzahlung ist abgelehnt.")
    expect(page.get_by_role("button", name="Weiter")).to_have_count(0)


def test_the_page_meets_wcag_and_fits_a_small_phone(
    page: Page, hosted_page: tuple[Payment, str]
) -> None:
    _, url = hosted_page
    page.goto(url)
    assert axe_violations(page) == []
    page.set_viewport_size({"width": 320, "height": 640})
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    page.keyboard.press("Tab")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"  # the focus is visible
