"""The two citizen flows in a real browser: apply and pay in one go, and pay notices.

Every page is checked with axe-core (WCAG 2.1 A/AA, zero violations); one test uses nothing but
the keyboard. The sandbox provider's hosted page stands in for a real provider.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from rathauskasse.applications.models import Application, ApplicationStatus
from rathauskasse.core import clock
from rathauskasse.demo.loader import load
from rathauskasse.ledger import selectors as ledger_selectors
from rathauskasse.organisations.models import Organisation
from rathauskasse.payments.models import Payment, PaymentStatus
from rathauskasse.providers.sandbox import server
from rathauskasse.receivables import selectors as receivable_selectors
from rathauskasse.receivables.models import Receivable, ReceivableSource, ReceivableStatus
from tests.e2e.conftest import axe_violations, describe

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]

SUCCESS = "Vielen Dank, Ihre Zahlung ist eingegangen"


@pytest.fixture
def city(db: None) -> Organisation:
    return load(today=clock.today()).organisation


@pytest.fixture
def portal(page: Page, live_server: Any, city: Organisation) -> Iterator[Page]:
    """The portal's start page; afterwards, proof that no page asked another host for anything."""
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.set_default_timeout(10_000)
    page.goto(live_server.url + "/")
    yield page
    foreign = [url for url in requested if not url.startswith(live_server.url)]
    assert foreign == [], foreign


def accessible(page: Page) -> None:
    violations = axe_violations(page)
    assert violations == [], describe(violations)


def open_notices(city: Organisation, count: int) -> list[Receivable]:
    return list(
        Receivable.objects.filter(
            organisation=city, source=ReceivableSource.NOTICE, status=ReceivableStatus.OPEN
        ).order_by("pk")[:count]
    )


def fill_parking_permit(page: Page) -> None:
    page.get_by_label("Vor- und Nachname").fill("Erika Mustermann")
    page.get_by_label("E-Mail-Adresse").fill("erika@example.org")
    page.get_by_label("Anschrift").fill("Hauptstraße 1\n52349 Musterstadt")
    page.get_by_label("Kennzeichen").fill("MS-AB 123")
    page.get_by_label("Bewohnerparkzone").select_option("A")
    page.get_by_role("button", name="Weiter zur Übersicht").click()


def decide_at_sandbox(page: Page, outcome: str) -> None:
    expect(page.get_by_role("heading", level=1)).to_have_text("Testzahlung")
    page.get_by_label(outcome).check()
    page.get_by_role("button", name="Weiter").click()


def books_balance(city: Organisation) -> None:
    report = ledger_selectors.check_integrity(organisation_id=city.pk)
    assert report.ok, report.problems


def test_apply_for_a_parking_permit_and_pay_it(portal: Page, city: Organisation) -> None:
    page = portal
    accessible(page)
    page.get_by_role("link", name="Zu den Leistungen").click()
    expect(page.get_by_role("heading", name="Ordnungsamt")).to_be_visible()
    accessible(page)
    page.get_by_role("link", name="Anwohnerparkausweis").click()
    expect(page.locator("main")).to_contain_text("30,70\u00a0€")
    accessible(page)
    page.get_by_role("link", name="Antrag starten").click()
    accessible(page)
    fill_parking_permit(page)
    expect(page.locator(".portal-fee")).to_contain_text("30,70\u00a0€")
    expect(page.locator("main")).to_contain_text("MS-AB 123")
    accessible(page)
    page.get_by_label("Kredit- oder Debitkarte").check()
    page.get_by_role("button", name=re.compile("Zahlungspflichtig beantragen")).click()
    decide_at_sandbox(page, "Zahlung gelingt")

    expect(page.get_by_role("heading", level=1)).to_have_text(SUCCESS)
    accessible(page)
    application = Application.objects.get()
    assert application.status == ApplicationStatus.SUBMITTED
    assert application.receivable is not None
    expect(page.locator("main")).to_contain_text(application.receivable.kassenzeichen_display)
    with page.expect_download() as download:
        page.get_by_role("link", name="Quittung herunterladen (PDF)").click()
    with open(download.value.path(), "rb") as receipt:
        assert receipt.read(5) == b"%PDF-"
    assert receivable_selectors.open_amount(receivable=application.receivable) == 0
    books_balance(city)


def test_a_declined_payment_can_be_retried_without_filling_in_the_form_again(
    portal: Page, city: Organisation
) -> None:
    page = portal
    page.goto(page.url + "leistungen/anwohnerparkausweis/antrag/")
    fill_parking_permit(page)
    page.get_by_label("Kredit- oder Debitkarte").check()
    page.get_by_role("button", name=re.compile("Zahlungspflichtig beantragen")).click()
    decide_at_sandbox(page, "Zahlung wird abgelehnt")

    expect(page.get_by_role("heading", level=1)).to_have_text("Die Zahlung wurde abgelehnt")
    expect(page.get_by_role("alert")).to_contain_text("Es wurde kein Geld abgebucht")
    accessible(page)
    page.get_by_role("link", name="Erneut bezahlen").click()
    expect(page.get_by_role("heading", name="Jetzt bezahlen")).to_be_visible()
    expect(page.locator("main")).to_contain_text("Noch nicht bezahlt")
    accessible(page)
    page.get_by_label("PayPal").check()
    page.get_by_role("button", name=re.compile("Zahlungspflichtig bezahlen")).click()
    decide_at_sandbox(page, "Zahlung gelingt")

    expect(page.get_by_role("heading", level=1)).to_have_text(SUCCESS)
    application = Application.objects.get()
    assert application.status == ApplicationStatus.SUBMITTED
    attempts = Payment.objects.filter(allocations__receivable=application.receivable)
    statuses = sorted(attempts.values_list("status", flat=True))
    assert statuses == [PaymentStatus.FAILED, PaymentStatus.SUCCEEDED]
    books_balance(city)


def test_a_pending_payment_shows_the_result_once_the_provider_decides(
    portal: Page, city: Organisation
) -> None:
    page = portal
    page.goto(page.url + "leistungen/anwohnerparkausweis/antrag/")
    fill_parking_permit(page)
    page.get_by_label("SEPA-Lastschrift").check()
    page.get_by_role("button", name=re.compile("Zahlungspflichtig beantragen")).click()
    with page.expect_response(re.compile(r"/zahlung/")) as returned:
        decide_at_sandbox(page, "bleibt in Bearbeitung, gelingt später")
    assert returned.value.headers["refresh"] == "3"  # reloads itself, without JavaScript

    expect(page.get_by_role("heading", level=1)).to_have_text("Ihre Zahlung wird geprüft")
    accessible(page)
    assert Application.objects.get().status == ApplicationStatus.AWAITING_PAYMENT

    payment = Payment.objects.get(allocations__receivable__application__isnull=False)
    txn = server.find(payment_reference=str(payment.public_id))
    assert txn is not None
    server.settle(reference=txn.reference)  # the provider decides later

    expect(page.get_by_role("heading", level=1)).to_have_text(SUCCESS, timeout=15_000)
    assert Application.objects.get().status == ApplicationStatus.SUBMITTED


def test_a_fee_free_application_is_submitted_at_once(portal: Page, city: Organisation) -> None:
    page = portal
    payments_before = Payment.objects.count()
    page.goto(page.url + "leistungen/?q=hund")
    accessible(page)
    page.get_by_role("link", name="Hund anmelden").click()
    expect(page.locator("main")).to_contain_text("Diese Leistung ist gebührenfrei.")
    page.get_by_role("link", name="Antrag starten").click()
    page.get_by_role("button", name="Weiter zur Übersicht").click()  # nothing filled in

    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("Bitte prüfen Sie Ihre")
    expect(summary).to_be_focused()
    accessible(page)
    summary.get_by_role("link", name=re.compile("Vor- und Nachnamen")).click()
    expect(page.get_by_label("Vor- und Nachname")).to_be_focused()

    page.get_by_label("Vor- und Nachname").fill("Max Mustermann")
    page.get_by_label("Anschrift").fill("Lindenweg 4\n52349 Musterstadt")
    page.get_by_label("Name des Hundes").fill("Bello")
    page.get_by_label("Hund gehalten seit").fill("2026-03-01")
    page.get_by_role("button", name="Weiter zur Übersicht").click()
    expect(page.locator("main")).not_to_contain_text("Zahlungspflichtig")
    page.get_by_role("button", name="Antrag absenden").click()

    expect(page.get_by_role("status")).to_contain_text("Antrag eingereicht")
    accessible(page)
    application = Application.objects.get()
    assert application.status == ApplicationStatus.SUBMITTED
    assert application.receivable is None
    assert Payment.objects.count() == payments_before


def test_pay_two_notices_together_by_kassenzeichen(portal: Page, city: Organisation) -> None:
    page = portal
    first, second = open_notices(city, 2)
    page.get_by_role("link", name="Bescheid bezahlen").first.click()
    accessible(page)
    page.get_by_label("Kassenzeichen").fill(first.kassenzeichen_display.replace("-", " "))
    page.get_by_role("button", name="Bescheid suchen").click()
    expect(page.locator("main")).to_contain_text(first.purpose)
    page.get_by_label("Weiteres Kassenzeichen").fill(second.kassenzeichen)
    page.get_by_role("button", name="Hinzufügen").click()
    expect(page.locator(".portal-basket__item")).to_have_count(2)
    content = page.locator("main").inner_text()
    assert first.debtor_name not in content  # only what identifies the notice, never the debtor
    assert second.debtor_name not in content
    accessible(page)
    page.get_by_label("Kredit- oder Debitkarte").check()
    page.get_by_label("E-Mail-Adresse für die Quittung").fill("zahler@example.org")
    page.get_by_role("button", name=re.compile("Zahlungspflichtig bezahlen")).click()
    decide_at_sandbox(page, "Zahlung gelingt")

    expect(page.get_by_role("heading", level=1)).to_have_text(SUCCESS)
    payment = Payment.objects.get(allocations__receivable=first)
    allocated = dict(payment.allocations.values_list("receivable_id", "amount_cents"))
    assert allocated == {first.pk: first.amount_cents, second.pk: second.amount_cents}
    for receivable in (first, second):
        receivable.refresh_from_db()
        assert receivable.status == ReceivableStatus.PAID
    books_balance(city)


def test_pay_a_notice_by_its_link(portal: Page, city: Organisation, live_server: Any) -> None:
    page = portal
    (notice,) = open_notices(city, 1)
    page.goto(f"{live_server.url}/p/{notice.pay_token}/")
    expect(page.locator(".portal-basket__item")).to_contain_text(notice.kassenzeichen_display)
    page.get_by_label("PayPal").check()
    page.get_by_role("button", name=re.compile("Zahlungspflichtig bezahlen")).click()
    decide_at_sandbox(page, "Zahlung gelingt")
    expect(page.get_by_role("heading", level=1)).to_have_text(SUCCESS)

    page.goto(f"{live_server.url}/p/{notice.pay_token}/")  # the letter's QR code, scanned again
    expect(page.get_by_role("status").first).to_contain_text("bereits bezahlt")
    expect(page.locator(".portal-basket__item")).to_have_count(0)


def test_a_wrong_kassenzeichen_is_explained(portal: Page, city: Organisation) -> None:
    page = portal
    page.goto(page.url + "bezahlen/")
    page.get_by_label("Kassenzeichen").fill("26-999999-1")
    page.get_by_role("button", name="Bescheid suchen").click()
    summary = page.get_by_role("alert")
    expect(summary).to_be_focused()
    expect(page.get_by_label("Kassenzeichen")).to_have_attribute("aria-invalid", "true")
    accessible(page)
    page.get_by_label("Kassenzeichen").fill("hallo")
    page.get_by_role("button", name="Bescheid suchen").click()
    expect(page.get_by_role("alert")).to_be_visible()
    expect(page.locator(".portal-basket__item")).to_have_count(0)


def tab_to(page: Page, name: str, *, limit: int = 80) -> None:
    """Press Tab until the focused element's accessible name contains `name`."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused: str = page.evaluate(
            """() => {
                const el = document.activeElement;
                if (!el) return "";
                const label = el.labels && el.labels.length ? el.labels[0].innerText : "";
                return label || el.getAttribute("aria-label") || el.innerText || el.value || "";
            }"""
        )
        if name in focused:
            outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
            assert outline != "none", f"no visible focus on {name!r}"
            return
    pytest.fail(f"{name!r} cannot be reached with the Tab key")


def enter(page: Page) -> None:
    """Press Enter on a link or button that leads to another page, and wait for it."""
    with page.expect_navigation():
        page.keyboard.press("Enter")


def test_both_flows_with_the_keyboard_only(
    portal: Page, city: Organisation, run_tasks: Callable[[], list[str]]
) -> None:
    page = portal
    keys = page.keyboard
    paid_before = Payment.objects.filter(status=PaymentStatus.SUCCEEDED).count()
    tab_to(page, "Zu den Leistungen")
    enter(page)
    tab_to(page, "Anwohnerparkausweis")
    enter(page)
    tab_to(page, "Antrag starten")
    enter(page)
    tab_to(page, "Vor- und Nachname")
    keys.type("Erika Mustermann")
    keys.press("Tab")
    keys.type("erika@example.org")
    keys.press("Tab")
    keys.type("Hauptstraße 1")
    keys.press("Tab")
    keys.type("MS-AB 123")
    keys.press("Tab")
    keys.press("ArrowDown")  # Zone A
    tab_to(page, "Weiter zur Übersicht")
    enter(page)
    tab_to(page, "Kredit- oder Debitkarte")
    keys.press("Space")
    tab_to(page, "Zahlungspflichtig beantragen")
    enter(page)
    expect(page.get_by_role("heading", level=1)).to_have_text("Testzahlung")
    tab_to(page, "Weiter")
    enter(page)
    expect(page.get_by_role("heading", level=1)).to_have_text(SUCCESS)

    (notice,) = open_notices(city, 1)
    tab_to(page, "Bescheid bezahlen")
    enter(page)
    tab_to(page, "Kassenzeichen")
    keys.type(notice.kassenzeichen)
    enter(page)
    expect(page.locator(".portal-basket__item")).to_have_count(1)
    tab_to(page, "Kredit- oder Debitkarte")
    keys.press("Space")
    tab_to(page, "Zahlungspflichtig bezahlen")
    enter(page)
    expect(page.get_by_role("heading", level=1)).to_have_text("Testzahlung")
    tab_to(page, "Weiter")
    enter(page)
    expect(page.get_by_role("heading", level=1)).to_have_text(SUCCESS)
    assert Payment.objects.filter(status=PaymentStatus.SUCCEEDED).count() == paid_before + 2


def test_pages_fit_a_small_phone(portal: Page, city: Organisation, live_server: Any) -> None:
    page = portal
    (notice,) = open_notices(city, 1)
    page.set_viewport_size({"width": 320, "height": 640})
    for path in (
        "/",
        "/leistungen/",
        "/leistungen/anwohnerparkausweis/",
        "/leistungen/anwohnerparkausweis/antrag/",
        f"/p/{notice.pay_token}/",
        "/impressum/",
        "/konto/login/",
    ):
        page.goto(live_server.url + path)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 320, f"{path} is {width} px wide"
    accessible(page)


def test_the_language_switch_shows_the_portal_in_english(portal: Page, city: Organisation) -> None:
    page = portal
    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("link", name="Services", exact=True)).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    accessible(page)
    page.get_by_role("button", name="Deutsch").click()
    expect(page.get_by_role("link", name="Leistungen", exact=True)).to_be_visible()


def test_account_pages_meet_wcag(portal: Page, city: Organisation, live_server: Any) -> None:
    page = portal
    for path in ("/konto/login/", "/konto/signup/", "/konto/password/reset/"):
        page.goto(live_server.url + path)
        accessible(page)
    page.goto(live_server.url + "/konto/signup/")
    page.get_by_role("button", name=re.compile("Registrieren|Konto anlegen")).click()
    expect(page.get_by_role("alert").first).to_be_visible()
    accessible(page)  # the error summary and the fields in error
    for path in ("/impressum/", "/datenschutz/", "/barrierefreiheit/"):
        page.goto(live_server.url + path)
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        accessible(page)
