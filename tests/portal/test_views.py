"""The portal's pages and every error path: clear German messages, nothing half-written, no 500."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

import pytest
from django.core import mail
from django.test import Client

from rathauskasse.applications.models import Application, ApplicationStatus
from rathauskasse.catalogue.models import Service
from rathauskasse.core import clock
from rathauskasse.organisations.models import BudgetLine, Department, Organisation
from rathauskasse.payments import registry
from rathauskasse.payments import services as payments
from rathauskasse.payments.contract import ProviderUnavailable
from rathauskasse.payments.models import Payment, PaymentStatus
from rathauskasse.portal import session
from rathauskasse.providers.sandbox import server
from rathauskasse.receivables import services as receivable_services
from rathauskasse.receivables.models import Receivable, ReceivableStatus
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _portal_of(org: Organisation, settings: Any) -> None:
    settings.PORTAL_ORGANISATION = org.slug


@pytest.fixture
def service(org: Organisation, department: Department, budget_line: BudgetLine) -> Service:
    return factories.service(org, department, budget_line, slug="beglaubigung")


@pytest.fixture
def notice(org: Organisation, department: Department, budget_line: BudgetLine) -> Receivable:
    return factories.receivable(org, department, budget_line, 2500, purpose="Hundesteuer 2026")


FORM = {
    "applicant_name": "Erika Mustermann",
    "applicant_email": "erika@example.org",
    "name": "Erika Mustermann",
    "pages": "3",
}


def review_url(client: Client, service: Service, data: dict[str, str] | None = None) -> str:
    response = client.post(f"/leistungen/{service.slug}/antrag/", data or FORM)
    assert response.status_code == 302
    return str(response["Location"])


def pay_at_sandbox(location: str, outcome: server.Outcome) -> None:
    reference = location.rstrip("/").rsplit("/", 1)[-1]
    server.decide(reference=reference, outcome=outcome, payer_method="card")


# --- pages --------------------------------------------------------------------------------


def test_the_catalogue_groups_by_department_and_finds_by_keyword(
    client: Client, service: Service, department: Department
) -> None:
    page = client.get("/leistungen/").content.decode()
    assert department.name in page
    assert "Beglaubigung" in page
    found = client.get("/leistungen/", {"q": "KOPIEN"}).content.decode()  # description, any case
    assert "1 Leistung zu „KOPIEN“ gefunden" in found
    none = client.get("/leistungen/", {"q": "Hundesteuer"}).content.decode()
    assert "Beglaubigung" not in none


def test_a_service_page_says_what_it_costs_in_words(client: Client, service: Service) -> None:
    page = client.get(f"/leistungen/{service.slug}/").content.decode()
    assert "5,00\u00a0€ je Seite" in page
    assert "Antrag starten" in page


def test_a_fee_free_service_says_so(
    client: Client, org: Organisation, department: Department, budget_line: BudgetLine
) -> None:
    free = factories.service(
        org, department, budget_line, fee_kind="free", payment_policy="none", slug="frei"
    )
    assert "gebührenfrei" in client.get(f"/leistungen/{free.slug}/").content.decode()


def test_an_inactive_service_is_not_offered(client: Client, service: Service) -> None:
    Service.objects.filter(pk=service.pk).update(is_active=False)
    assert client.get(f"/leistungen/{service.slug}/").status_code == 404
    assert client.get(f"/leistungen/{service.slug}/antrag/").status_code == 404
    assert "Beglaubigung" not in client.get("/leistungen/").content.decode()


def test_legal_pages_show_the_texts_from_the_admin(client: Client, org: Organisation) -> None:
    org.imprint = "Stadt 1\n\nVertreten durch die Bürgermeisterin."
    org.save()
    page = client.get("/impressum/").content.decode()
    assert "Vertreten durch die Bürgermeisterin." in page
    assert client.get("/datenschutz/").status_code == 200
    assert client.get("/barrierefreiheit/").status_code == 200


def test_pages_carry_a_strict_content_security_policy_and_no_inline_script(
    client: Client, service: Service
) -> None:
    for url in ("/", "/leistungen/", f"/leistungen/{service.slug}/antrag/", "/bezahlen/"):
        response = client.get(url)
        policy = response["Content-Security-Policy"]
        assert "script-src 'self'" in policy
        assert "style-src 'self';" in policy
        assert "frame-ancestors 'none'" in policy
        assert "<script" not in response.content.decode()
        assert "style=" not in response.content.decode()
        assert response["X-Frame-Options"] == "DENY"


def test_no_organisation_for_the_host_is_a_404(client: Client, settings: Any) -> None:
    settings.PORTAL_ORGANISATION = ""
    factories.organisation()  # two organisations, and none claims this host
    assert client.get("/leistungen/").status_code == 404


def test_an_organisation_is_found_by_its_portal_host(client: Client, settings: Any) -> None:
    other = factories.organisation(name="Stadt Anderswo", portal_host="zahlen.anderswo.example")
    settings.ALLOWED_HOSTS = ["testserver", "zahlen.anderswo.example"]
    page = client.get("/", HTTP_HOST="zahlen.anderswo.example").content.decode()
    assert other.name in page


# --- apply and pay ------------------------------------------------------------------------


def test_an_invalid_form_lists_every_error_and_writes_nothing(
    client: Client, service: Service
) -> None:
    response = client.post(f"/leistungen/{service.slug}/antrag/", {"pages": "99"})
    assert response.status_code == 422
    page = response.content.decode()
    links = re.findall(r'href="#(feld-[a-z_]+)"', page)
    assert links == ["feld-applicant_name", "feld-name", "feld-pages"]
    assert "Bitte geben Sie Ihren Vor- und Nachnamen an." in page
    assert "„Seiten“ darf höchstens 50 sein." in page
    assert 'aria-invalid="true"' in page
    assert Application.objects.count() == 0
    assert Receivable.objects.count() == 0


def test_the_review_shows_the_fee_and_only_the_services_methods(
    client: Client, service: Service
) -> None:
    page = client.get(review_url(client, service)).content.decode()
    assert "3 × 5,00\u00a0€ je Seite" in page
    assert "15,00\u00a0€" in page
    methods = re.findall(r'name="method" value="([a-z_]+)"', page)
    assert methods == ["card", "paypal", "sepa_debit"]  # not wero or giropay


def test_changing_the_answers_keeps_what_was_entered(client: Client, service: Service) -> None:
    url = review_url(client, service)
    token = url.rstrip("/").rsplit("/", 1)[-1]
    page = client.get(f"/leistungen/{service.slug}/antrag/", {"entwurf": token}).content.decode()
    assert 'value="Erika Mustermann"' in page


def test_a_lost_draft_sends_the_citizen_back_to_the_form(client: Client, service: Service) -> None:
    response = client.get(f"/leistungen/{service.slug}/antrag/unbekannt/", follow=True)
    assert response.redirect_chain[-1][0] == f"/leistungen/{service.slug}/antrag/"
    assert "Ihre Eingaben sind nicht mehr vorhanden" in response.content.decode()


def test_no_method_chosen_is_refused_and_nothing_is_created(
    client: Client, service: Service
) -> None:
    response = client.post(review_url(client, service), {})
    assert response.status_code == 422
    assert "Bitte wählen Sie, wie Sie bezahlen möchten." in response.content.decode()
    assert Application.objects.count() == 0


def test_a_method_the_service_does_not_allow_is_refused(client: Client, service: Service) -> None:
    response = client.post(review_url(client, service), {"method": "wero"})
    assert response.status_code == 422
    assert Payment.objects.count() == 0


def test_a_double_click_submits_one_application_and_one_payment(
    client: Client, service: Service, settings: Any
) -> None:
    url = review_url(client, service)
    first = client.post(url, {"method": "card"})
    second = client.post(url, {"method": "card"})
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    assert first["Location"].startswith(settings.SITE_URL + "/sandbox/bezahlen/")
    assert Application.objects.count() == 1
    assert Payment.objects.count() == 1
    payment = Payment.objects.get()
    assert payment.return_url == f"{settings.SITE_URL}/zahlung/{payment.public_id}/"
    assert payment.payer_email == "erika@example.org"


def test_paying_submits_the_application_and_the_receipt_is_mailed_once(
    client: Client, service: Service, run_tasks: Callable[[], list[str]]
) -> None:
    location = client.post(review_url(client, service), {"method": "card"})["Location"]
    application = Application.objects.get()
    assert application.status == ApplicationStatus.AWAITING_PAYMENT
    pay_at_sandbox(location, server.Outcome.SUCCEED)
    payment = Payment.objects.get()
    page = client.get(f"/zahlung/{payment.public_id}/").content.decode()  # polls the provider
    assert "Vielen Dank, Ihre Zahlung ist eingegangen" in page
    assert application.receivable is not None
    assert application.receivable.kassenzeichen_display in page
    application.refresh_from_db()
    assert application.status == ApplicationStatus.SUBMITTED
    assert application.submitted_at is not None
    run_tasks()
    run_tasks()
    receipts = [m for m in mail.outbox if m.subject.startswith("Ihre Quittung")]
    assert len(receipts) == 1  # once, however often the tasks run
    assert receipts[0].to == ["erika@example.org"]
    assert receipts[0].attachments[0][2] == "application/pdf"
    confirmations = [m for m in mail.outbox if "ist eingegangen" in m.subject]
    assert len(confirmations) == 1


def test_the_receipt_is_the_same_file_every_time(client: Client, service: Service) -> None:
    location = client.post(review_url(client, service), {"method": "card"})["Location"]
    payment = Payment.objects.get()
    assert client.get(f"/zahlung/{payment.public_id}/quittung.pdf").status_code == 404
    pay_at_sandbox(location, server.Outcome.SUCCEED)
    client.get(f"/zahlung/{payment.public_id}/")
    first = client.get(f"/zahlung/{payment.public_id}/quittung.pdf")
    second = client.get(f"/zahlung/{payment.public_id}/quittung.pdf")
    assert first["Content-Type"] == "application/pdf"
    assert "attachment" in first["Content-Disposition"]
    assert first.content == second.content
    assert first.content.startswith(b"%PDF-")


def test_a_declined_payment_can_be_paid_again_from_the_application(
    client: Client, service: Service
) -> None:
    location = client.post(review_url(client, service), {"method": "card"})["Location"]
    pay_at_sandbox(location, server.Outcome.DECLINE)
    failed = Payment.objects.get()
    page = client.get(f"/zahlung/{failed.public_id}/").content.decode()
    assert "Die Zahlung wurde abgelehnt" in page
    application = Application.objects.get()
    detail = client.get(f"/antraege/{application.public_id}/").content.decode()
    attempt = re.search(r'name="attempt" value="([^"]+)"', detail)
    assert attempt is not None
    again = client.post(
        f"/antraege/{application.public_id}/bezahlen/",
        {"method": "paypal", "attempt": attempt.group(1)},
    )
    assert "/sandbox/bezahlen/" in again["Location"]
    assert Payment.objects.filter(method="paypal", status=PaymentStatus.STARTED).count() == 1
    assert Application.objects.count() == 1


def test_a_started_payment_is_stopped_before_another_attempt(
    client: Client, service: Service
) -> None:
    client.post(review_url(client, service), {"method": "card"})
    application = Application.objects.get()
    response = client.post(
        f"/antraege/{application.public_id}/bezahlen/", {"method": "paypal", "attempt": "zwei"}
    )
    assert response.status_code == 302
    statuses = dict(Payment.objects.values_list("method", "status"))
    assert statuses == {"card": PaymentStatus.CANCELLED, "paypal": PaymentStatus.STARTED}


def test_a_bad_method_on_the_application_page_creates_no_payment(
    client: Client, service: Service
) -> None:
    client.post(review_url(client, service), {"method": "card"})
    application = Application.objects.get()
    response = client.post(
        f"/antraege/{application.public_id}/bezahlen/",
        {"method": "bitcoin", "attempt": "x"},
        follow=True,
    )
    assert "Bitte wählen Sie, wie Sie bezahlen möchten." in response.content.decode()
    assert Payment.objects.count() == 1


def test_an_unreachable_provider_is_explained_and_the_application_kept(
    client: Client, service: Service
) -> None:
    adapter = registry.get_provider("sandbox")

    class Down:
        identifier = "sandbox"
        capabilities = adapter.capabilities

        def start(self, request: object) -> object:
            raise ProviderUnavailable("timeout")

    with registry.override("sandbox", Down()):  # type: ignore[arg-type]
        response = client.post(review_url(client, service), {"method": "card"})
    assert response.status_code == 422
    assert "nicht erreichbar" in response.content.decode()
    application = Application.objects.get()
    assert application.status == ApplicationStatus.AWAITING_PAYMENT


def test_another_browser_cannot_see_the_application(client: Client, service: Service) -> None:
    client.post(review_url(client, service), {"method": "card"})
    application = Application.objects.get()
    assert client.get(f"/antraege/{application.public_id}/").status_code == 200
    assert Client().get(f"/antraege/{application.public_id}/").status_code == 404


def test_a_fee_free_application_is_submitted_without_payment(
    client: Client, org: Organisation, department: Department, budget_line: BudgetLine
) -> None:
    free = factories.service(
        org, department, budget_line, fee_kind="free", payment_policy="none", slug="frei"
    )
    response = client.post(review_url(client, free), {})
    application = Application.objects.get()
    assert response["Location"] == f"/antraege/{application.public_id}/"
    assert application.status == ApplicationStatus.SUBMITTED
    assert application.receivable is None


def test_pay_after_decision_submits_now_and_bills_later(client: Client, service: Service) -> None:
    Service.objects.filter(pk=service.pk).update(payment_policy="after_decision")
    service.refresh_from_db()
    url = review_url(client, service)
    assert "bezahlen Sie erst" in client.get(url).content.decode()
    client.post(url, {})
    application = Application.objects.get()
    assert application.status == ApplicationStatus.SUBMITTED
    assert application.fee_cents == 1500
    assert application.receivable is None


# --- pay a notice -------------------------------------------------------------------------


def lookup(client: Client, text: str, **extra: Any) -> Any:
    return client.post("/bezahlen/", {"kassenzeichen": text}, **extra)


def test_a_notice_is_found_in_any_spelling_and_shows_no_debtor(
    client: Client, notice: Receivable
) -> None:
    spaced = notice.kassenzeichen_display.replace("-", " ")
    assert lookup(client, f"  {spaced.lower()} ")["Location"] == "/bezahlen/"
    page = client.get("/bezahlen/").content.decode()
    assert "Hundesteuer 2026" in page
    assert "25,00\u00a0€" in page
    assert "Erika Mustermann" not in page
    assert "Heidestraße" not in page


def test_an_empty_or_unknown_kassenzeichen_is_explained(client: Client, notice: Receivable) -> None:
    empty = lookup(client, "")
    assert empty.status_code == 422
    assert "Bitte geben Sie das Kassenzeichen" in empty.content.decode()
    unknown = lookup(client, "26-999999-4")
    assert unknown.status_code in (404, 422)
    assert session.BASKET not in client.session or client.session[session.BASKET] == []


def test_a_malformed_kassenzeichen_says_why(client: Client, notice: Receivable) -> None:
    wrong_digit = notice.kassenzeichen[:-1] + str((int(notice.kassenzeichen[-1]) + 1) % 10)
    response = lookup(client, wrong_digit)
    assert response.status_code == 422
    assert "Prüfziffer" in response.content.decode()


def test_a_paid_notice_says_when_it_was_paid(
    client: Client, org: Organisation, notice: Receivable
) -> None:
    payment = factories.payment(org, notice)
    payments.confirm_payment(
        payment=payment, source=payments.EventSource.POLL, actor=factories.ACTOR
    )
    notice.refresh_from_db()
    assert notice.paid_at is not None
    response = lookup(client, notice.kassenzeichen)
    assert response.status_code == 409
    assert "bereits bezahlt (am " in response.content.decode()


def test_a_cancelled_notice_needs_no_payment(client: Client, notice: Receivable) -> None:
    receivable_services.cancel_receivable(actor=factories.ACTOR, receivable=notice, reason="x")
    response = lookup(client, notice.kassenzeichen)
    assert response.status_code == 409
    assert "aufgehoben" in response.content.decode()


def test_a_partly_paid_notice_offers_the_rest(
    client: Client, org: Organisation, notice: Receivable
) -> None:
    payment = payments.create_payment(
        actor=factories.ACTOR,
        organisation=org,
        allocations=[payments.AllocationInput(notice, 1000)],
        provider="sandbox",
        method="card",
    )
    payments.confirm_payment(
        payment=payment, source=payments.EventSource.POLL, actor=factories.ACTOR
    )
    lookup(client, notice.kassenzeichen)
    page = client.get("/bezahlen/").content.decode()
    assert "15,00\u00a0€" in page
    assert "ein Teil ist bereits bezahlt" in page


def test_lookups_are_rate_limited_per_client(
    client: Client, notice: Receivable, settings: Any
) -> None:
    settings.PORTAL_LOOKUP_LIMIT = 3
    with clock.frozen(
        dt.datetime(2026, 11, 25, 10, 0, 20, tzinfo=dt.UTC)
    ):  # all within one minute's window
        for _ in range(3):
            assert lookup(client, "26-999999-4").status_code != 429
        limited = lookup(client, notice.kassenzeichen)
        other = lookup(Client(), notice.kassenzeichen, REMOTE_ADDR="10.0.0.2")
    assert limited.status_code == 429
    assert limited["Retry-After"] == "40"
    assert "warten Sie bitte" in limited.content.decode()
    assert other.status_code == 302  # another client is not affected


def test_two_notices_are_paid_in_one_payment(
    client: Client,
    org: Organisation,
    department: Department,
    budget_line: BudgetLine,
    notice: Receivable,
) -> None:
    second = factories.receivable(org, department, budget_line, 4000, purpose="Parkverstoß")
    lookup(client, notice.kassenzeichen)
    lookup(client, second.kassenzeichen)
    response = client.post("/bezahlen/zahlen/", {"method": "card", "attempt": "k1", "email": ""})
    assert "/sandbox/bezahlen/" in response["Location"]
    payment = Payment.objects.get()
    assert payment.amount_cents == 6500
    assert dict(payment.allocations.values_list("receivable_id", "amount_cents")) == {
        notice.pk: 2500,
        second.pk: 4000,
    }
    assert client.session[session.BASKET] == []
    pay_at_sandbox(response["Location"], server.Outcome.SUCCEED)
    client.get(f"/zahlung/{payment.public_id}/")
    assert set(Receivable.objects.values_list("status", flat=True)) == {ReceivableStatus.PAID}


def test_checkout_errors_change_nothing(client: Client, notice: Receivable) -> None:
    assert client.post("/bezahlen/zahlen/", {"method": "card", "attempt": "a"}).status_code == 302
    lookup(client, notice.kassenzeichen)
    no_method = client.post("/bezahlen/zahlen/", {"attempt": "a"})
    assert no_method.status_code == 422
    bad_mail = client.post(
        "/bezahlen/zahlen/", {"method": "card", "attempt": "a", "email": "kein-mail"}
    )
    assert bad_mail.status_code == 422
    assert "E-Mail-Adresse" in bad_mail.content.decode()
    assert Payment.objects.count() == 0


def test_a_notice_can_be_removed_from_the_basket(client: Client, notice: Receivable) -> None:
    lookup(client, notice.kassenzeichen)
    client.post("/bezahlen/entfernen/", {"receivable": notice.pk})
    assert "Hundesteuer 2026" not in client.get("/bezahlen/").content.decode()


def test_the_pay_link_opens_the_notice(client: Client, notice: Receivable) -> None:
    response = client.get(f"/p/{notice.pay_token}/", follow=True)
    assert "Hundesteuer 2026" in response.content.decode()
    assert client.get("/p/geraten/").status_code == 404


def test_a_pay_link_of_another_organisation_is_not_found(client: Client) -> None:
    other = factories.organisation()
    theirs = factories.receivable(other, factories.department(other), factories.budget_line(other))
    assert client.get(f"/p/{theirs.pay_token}/").status_code == 404


def test_another_organisations_payment_is_not_shown(client: Client) -> None:
    other = factories.organisation()
    theirs = factories.receivable(other, factories.department(other), factories.budget_line(other))
    payment = factories.payment(other, theirs)
    assert client.get(f"/zahlung/{payment.public_id}/").status_code == 404
    assert client.get("/zahlung/00000000-0000-0000-0000-000000000000/").status_code == 404


def test_a_failed_notice_payment_can_be_retried(client: Client, notice: Receivable) -> None:
    lookup(client, notice.kassenzeichen)
    location = client.post("/bezahlen/zahlen/", {"method": "card", "attempt": "a"})["Location"]
    pay_at_sandbox(location, server.Outcome.CANCEL)
    payment = Payment.objects.get()
    page = client.get(f"/zahlung/{payment.public_id}/").content.decode()
    assert "Die Zahlung wurde abgebrochen" in page
    client.post(f"/zahlung/{payment.public_id}/erneut/")
    assert client.session[session.BASKET] == [notice.pk]


def test_a_waiting_payment_reloads_itself_and_can_be_told_not_to(
    client: Client, notice: Receivable
) -> None:
    lookup(client, notice.kassenzeichen)
    location = client.post("/bezahlen/zahlen/", {"method": "card", "attempt": "a"})["Location"]
    pay_at_sandbox(location, server.Outcome.PENDING_SUCCEED)
    payment = Payment.objects.get()
    waiting = client.get(f"/zahlung/{payment.public_id}/")
    assert waiting["Refresh"] == "3"
    assert "Ihre Zahlung wird geprüft" in waiting.content.decode()
    still = client.get(f"/zahlung/{payment.public_id}/", {"aktualisieren": "aus"})
    assert "Refresh" not in still


def test_my_page_needs_a_login(client: Client) -> None:
    response = client.get("/konto/meine/")
    assert response.status_code == 302
    assert response["Location"].startswith("/konto/login/")


def test_the_header_shows_the_coat_of_arms_or_a_neutral_one(
    client: Client, org: Organisation, settings: Any, tmp_path: Any
) -> None:
    from django.core.files.base import ContentFile

    page = client.get("/").content.decode()
    assert "portal/wappen.svg" in page
    assert org.name in page
    settings.MEDIA_ROOT = str(tmp_path)
    org.coat_of_arms.save("stadt.png", ContentFile(b"\x89PNG\r\n\x1a\n"), save=True)
    page = client.get("/").content.decode()
    assert f'src="{org.coat_of_arms.url}"' in page


def test_redirects_after_language_switch_and_login_stay_on_the_site(
    client: Client, org: Organisation
) -> None:
    from allauth.account.models import EmailAddress

    from rathauskasse.core.models import User

    switched = client.post("/i18n/setlang/", {"language": "en", "next": "https://evil.example/"})
    assert switched.status_code == 302
    assert "evil.example" not in switched["Location"]
    password = "lang-und-sicher-2026"
    user = User.objects.create_user("erika", email="erika@example.org", password=password)
    EmailAddress.objects.create(user=user, email="erika@example.org", verified=True, primary=True)
    response = client.post(
        "/konto/login/?next=https://evil.example/",
        {"login": "erika@example.org", "password": password},
    )
    assert response.status_code == 302
    assert "evil.example" not in response["Location"]
