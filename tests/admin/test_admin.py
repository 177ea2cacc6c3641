"""The admin lists every domain object, and what services write is read-only there."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import reverse

from rathauskasse.core.models import AuditEntry, User
from rathauskasse.ledger.models import JournalEntry
from rathauskasse.organisations.models import BudgetLine, Department, Organisation
from rathauskasse.payments import services
from rathauskasse.payments.models import Payment
from rathauskasse.receivables.models import Receivable
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client: Client, db: None) -> Client:
    user = User.objects.create_superuser("admin", "admin@example.org", "pw")
    client.force_login(user)
    return client


@pytest.fixture
def data(org: Organisation, department: Department, budget_line: BudgetLine) -> Payment:
    factories.service(org, department, budget_line)
    receivable = factories.receivable(org, department, budget_line, 3070)
    payment = factories.payment(org, receivable)
    services.start_payment(payment=payment, actor=factories.ACTOR)
    return services.confirm_payment(
        payment=payment, source=services.EventSource.SYSTEM, actor=factories.ACTOR
    )


def test_every_registered_model_has_a_working_list_and_detail_page(
    admin_client: Client, data: Payment
) -> None:
    for model in admin.site._registry:
        meta = model._meta
        url = reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")
        response = admin_client.get(url)
        assert response.status_code == 200, url
        obj = model._default_manager.first()
        if obj is not None:
            url = reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk])
            assert admin_client.get(url).status_code == 200, url


def test_payment_page_shows_events_and_journal_entry_lines(
    admin_client: Client, data: Payment
) -> None:
    page = admin_client.get(
        reverse("admin:payments_payment_change", args=[data.pk])
    ).content.decode()
    assert "status_changed" in page
    assert "succeeded" in page
    entry = JournalEntry.objects.get(kind="payment_succeeded")
    page = admin_client.get(
        reverse("admin:ledger_journalentry_change", args=[entry.pk])
    ).content.decode()
    assert "30,70" in page  # debit and credit shown in euro


def test_receivables_list_shows_open_amount(admin_client: Client, data: Payment) -> None:
    receivable = Receivable.objects.get()
    page = admin_client.get(reverse("admin:receivables_receivable_changelist")).content.decode()
    assert receivable.kassenzeichen in page
    assert "0,00" in page


def test_a_receivable_shows_its_pay_link(admin_client: Client, data: Payment) -> None:
    receivable = Receivable.objects.get()
    url = reverse("admin:receivables_receivable_change", args=[receivable.pk])
    page = admin_client.get(url).content.decode()
    assert f"http://testserver/p/{receivable.pay_token}/" in page


@pytest.mark.parametrize("model", [Receivable, Payment, JournalEntry, AuditEntry])
def test_what_services_write_cannot_be_added_changed_or_deleted(
    admin_client: Client, data: Payment, model: type
) -> None:
    meta = model._meta
    assert (
        admin_client.get(reverse(f"admin:{meta.app_label}_{meta.model_name}_add")).status_code
        == 403
    )
    obj = model._default_manager.first()
    url = reverse(f"admin:{meta.app_label}_{meta.model_name}_delete", args=[obj.pk])
    assert admin_client.post(url, {"post": "yes"}).status_code == 403
    assert model._default_manager.filter(pk=obj.pk).exists()


def test_editing_an_organisation_in_the_admin_is_audited(
    admin_client: Client, org: Organisation
) -> None:
    url = reverse("admin:organisations_organisation_change", args=[org.pk])
    response = admin_client.post(
        url,
        {
            "slug": org.slug,
            "name": "Neuer Name",
            "ags": org.ags,
            "creditor_name": org.creditor_name,
            "iban": "DE02 1203 0000 0000 2020 51",
            "bic": "",
            "girocode_reference": "text",
            "street": "",
            "postcode": "",
            "city": "",
            "email": "",
            "phone": "",
            "website": "",
            "kz_prefix": "",
            "kz_year_digits": 2,
            "kz_number_digits": 6,
            "kz_check_algorithm": "luhn",
        },
    )
    assert response.status_code == 302
    org.refresh_from_db()
    assert org.name == "Neuer Name"
    assert org.iban == "DE02120300000000202051"
    entry = AuditEntry.objects.get(action="organisation.changed_in_admin")
    assert entry.actor_label == "admin"
    assert entry.after == {"name": "Neuer Name", "iban": "DE02120300000000202051", "bic": ""}


def test_an_invalid_iban_is_refused_in_the_admin_with_a_reason(
    admin_client: Client, org: Organisation
) -> None:
    url = reverse("admin:organisations_organisation_change", args=[org.pk])
    response = admin_client.post(
        url,
        {
            "slug": org.slug,
            "name": org.name,
            "ags": org.ags,
            "creditor_name": org.creditor_name,
            "iban": "DE00 1234",
            "kz_year_digits": 2,
            "kz_number_digits": 6,
            "kz_check_algorithm": "luhn",
        },
    )
    assert response.status_code == 200
    assert "keine gültige IBAN" in response.content.decode()
    org.refresh_from_db()
    assert org.iban == "DE02120300000000202051"


def test_staff_account_changes_are_audited_but_passwords_never_logged(
    admin_client: Client, db: None
) -> None:
    user = User.objects.create_user("bea", password="alt-und-lang-2026")
    url = reverse("admin:auth_user_password_change", args=[user.pk])
    response = admin_client.post(
        url,
        {
            "password1": "Neu-und-geheim-2026",
            "password2": "Neu-und-geheim-2026",
            "usable_password": "true",
        },
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password("Neu-und-geheim-2026")
    entry = AuditEntry.objects.get(action="user.password_changed_in_admin")
    assert (entry.actor_label, entry.object_id) == ("admin", str(user.pk))
    assert "Neu-und-geheim" not in str(entry.before) + str(entry.after)
