"""The demo city: everything a newcomer clicks through, created once, in one piece."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command

from rathauskasse.catalogue.models import PaymentPolicy, Service
from rathauskasse.catalogue.services import quote
from rathauskasse.core import clock
from rathauskasse.core.errors import ValidationFailed
from rathauskasse.core.models import AuditEntry, User
from rathauskasse.core.money import Money
from rathauskasse.demo.loader import calendar_words
from rathauskasse.ledger import selectors as ledger_selectors
from rathauskasse.ledger.models import EntryKind, JournalEntry
from rathauskasse.organisations import services as organisation_services
from rathauskasse.organisations.models import BudgetLine, Department, Membership, Organisation
from rathauskasse.payments.models import Payment, PaymentStatus, Refund, RefundState, RefundStatus
from rathauskasse.providers.sandbox.adapter import SandboxProvider
from rathauskasse.providers.sandbox.models import SandboxTransaction
from rathauskasse.receivables import selectors as receivable_selectors
from rathauskasse.receivables.models import (
    Notice,
    NoticeKind,
    NoticeTemplate,
    Receivable,
    ReceivableSource,
    ReceivableStatus,
    ReminderPolicy,
)

pytestmark = pytest.mark.django_db


def _load() -> str:
    out = io.StringIO()
    call_command("load_demo", stdout=out)
    return out.getvalue()


def _counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (
            Organisation,
            Department,
            BudgetLine,
            Service,
            Receivable,
            Payment,
            Refund,
            JournalEntry,
            User,
            Membership,
            AuditEntry,
            SandboxTransaction,
        )
    }


def _euro(cents: int) -> str:
    return Money(cents).format_de().replace("\u00a0", " ")


def _musterstadt() -> Organisation:
    return Organisation.objects.get(slug="musterstadt")


def test_musterstadt_gets_its_offices_budget_lines_and_bank_details() -> None:
    _load()
    org = _musterstadt()
    assert (org.name, org.creditor_name) == ("Stadt Musterstadt", "Stadtkasse Musterstadt")
    assert len(org.ags) == 8
    assert org.ags.isdigit()
    assert (org.iban, org.bic) == ("DE02120300000000202051", "BYLADEM1001")
    assert org.street
    assert org.email
    assert org.phone
    assert org.website
    assert set(Department.objects.filter(organisation=org).values_list("name", flat=True)) == {
        "Bürgeramt",
        "Ordnungsamt",
        "Bauamt",
        "Jugendamt",
        "Stadtkasse",
    }
    lines = BudgetLine.objects.filter(organisation=org)
    assert lines.count() >= 5
    for line in lines:
        assert (line.product, line.account, line.cost_centre) != ("", "", "")


def test_services_have_citizen_texts_and_charge_what_the_fee_schedule_says() -> None:
    _load()
    org = _musterstadt()
    services = Service.objects.filter(organisation=org)
    assert services.count() >= 10
    sandbox_methods = SandboxProvider.capabilities.methods
    for service in services:
        assert service.description
        assert service.requirements
        assert service.processing_time
        assert service.keywords
        if not service.is_free:
            assert service.budget_line is not None
            assert service.payment_methods
            assert set(service.payment_methods) <= sandbox_methods

    def fee(slug: str, **answers: object) -> int:
        service = services.get(slug=slug)
        data = {"name": "Erika Mustermann", "email": "erika@example.org", **answers}
        return quote(service=service, data=data).fee.total_cents

    assert fee("anwohnerparkausweis", address="Heidestr. 17", plate="MS-AB 1", zone="A") == 3070
    assert fee("beglaubigung", document="Zeugnis", pages="1") == 500
    assert fee("beglaubigung", document="Zeugnis", pages="3") == 1500
    assert fee("bauakteneinsicht", parcel="Markt 1") == 2500
    where = {"location": "Markt 1", "start": "01.12.2026"}
    assert fee("sondernutzungserlaubnis", kind="umzug", **where) == 3500
    assert fee("sondernutzungserlaubnis", kind="geruest", **where) == 12000
    assert fee("meldebescheinigung", birthdate="1980-05-17") == 1000
    assert fee("gewerbeanmeldung", activity="Fahrradreparatur", start="01.01.2027") == 2600
    # 30 € a tree, but at least 50 € and at most 300 €.
    assert fee("baumfaellgenehmigung", trees="1", location="Weiherweg 11") == 5000
    assert fee("baumfaellgenehmigung", trees="4", location="Weiherweg 11") == 12000
    assert fee("baumfaellgenehmigung", trees="20", location="Weiherweg 11") == 30000

    dog = services.get(slug="hundeanmeldung")
    assert (dog.fee_kind, dog.payment_policy) == ("free", PaymentPolicy.NONE)
    assert fee("hundeanmeldung", address="Heidestr. 17", dog_name="Bello", since="01.11.2026") == 0
    camp = services.get(slug="ferienfreizeit")
    assert camp.payment_policy == PaymentPolicy.AFTER_DECISION


def test_25_open_notices_are_booked_and_printed_with_their_kassenzeichen() -> None:
    output = _load()
    org = _musterstadt()
    open_ones = Receivable.objects.filter(organisation=org, status=ReceivableStatus.OPEN)
    assert open_ones.count() == 25
    assert "Offene Forderungen (25)" in output
    for receivable in open_ones.prefetch_related("lines__budget_line"):
        assert receivable.source == ReceivableSource.NOTICE
        assert receivable.debtor_name
        assert receivable.debtor_postcode
        assert receivable_selectors.open_amount(receivable=receivable) == receivable.amount_cents
        line = receivable.lines.order_by("position").first()
        assert line is not None
        assert line.budget_line.account
        row = next(r for r in output.splitlines() if receivable.kassenzeichen_display in r)
        assert _euro(receivable.amount_cents) in row
        assert receivable.purpose in row
    purposes = set(open_ones.values_list("purpose", flat=True))
    year = clock.today().year
    assert f"Hundesteuer {year}" in purposes
    assert any(p.startswith("Gebührenbescheid Sondernutzung") for p in purposes)
    assert any(p.startswith("Verwarngeld") for p in purposes)
    assert any(p.startswith("Elternbeitrag Kita") for p in purposes)


def test_the_demo_reads_as_current_in_whichever_year_it_is_loaded() -> None:
    with clock.frozen(dt.datetime(2031, 12, 10, 9, 0, tzinfo=clock.BERLIN)):
        output = _load()
    assert "Hundesteuer 2031" in output
    assert "Elternbeitrag Kita Dezember 2031" in output
    assert "Elternbeitrag Kita Januar 2032" in output
    assert "Gebühr Bewohnerparkausweis 2032" in output
    assert Receivable.objects.filter(kassenzeichen__startswith="31").count() == 29


def test_calendar_words_cross_the_turn_of_the_year() -> None:
    assert calendar_words(dt.date(2026, 12, 31)) == {
        "year": "2026",
        "next_year": "2027",
        "month": "Dezember 2026",
        "next_month": "Januar 2027",
    }
    assert calendar_words(dt.date(2027, 1, 31))["next_month"] == "Februar 2027"


def test_sandbox_payments_and_a_refund_are_booked_and_the_ledger_balances() -> None:
    output = _load()
    org = _musterstadt()
    paid = Payment.objects.filter(organisation=org, status=PaymentStatus.SUCCEEDED)
    assert paid.count() == 4
    assert {p.provider for p in paid} == {"sandbox"}
    assert "Bezahlt (4)" in output
    assert (
        JournalEntry.objects.filter(organisation=org, kind=EntryKind.PAYMENT_SUCCEEDED).count()
        == paid.count()
    )
    for payment in paid:
        receivable = payment.receivables.get()
        assert receivable.status == ReceivableStatus.PAID
        assert receivable_selectors.open_amount(receivable=receivable) == 0
        assert receivable.kassenzeichen_display in output

    # The overpayment is paid back; the notice stays settled.
    refund = Refund.objects.get(payment__organisation=org)
    assert refund.status == RefundState.SUCCEEDED
    assert refund.payment.refund_status == RefundStatus.PARTIAL
    assert refund.amount_cents < refund.payment.amount_cents
    assert refund.payment.receivables.get().status == ReceivableStatus.PAID
    assert JournalEntry.objects.filter(organisation=org, kind=EntryKind.REFUND).count() == 1

    assert ledger_selectors.check_integrity().ok
    # 25 open notices, 4 paid ones (created and paid), 1 refund, 1 reminder fee.
    assert JournalEntry.objects.filter(organisation=org, kind=EntryKind.REMINDER_FEE).count() == 1
    assert ledger_selectors.check_integrity(organisation_id=org.pk).entries == 25 + 4 * 2 + 1 + 1


def test_demo_staff_can_log_in_with_the_printed_passwords() -> None:
    output = _load()
    for username, password in [
        ("admin", "demo-admin-2026"),
        ("kasse", "demo-kasse-2026"),
        ("buergeramt", "demo-buergeramt-2026"),
        ("ordnungsamt-leitung", "demo-ordnungsamt-2026"),
    ]:
        row = next(r for r in output.splitlines() if r.strip().startswith(username + " "))
        assert password in row
        assert authenticate(username=username, password=password) is not None
    admin = User.objects.get(username="admin")
    assert (admin.is_staff, admin.is_superuser) == (True, True)
    cashier = User.objects.get(username="kasse")
    assert (cashier.is_staff, cashier.is_superuser) == (True, False)
    roles = {
        (m.user.username, m.role, m.department.name if m.department else None)
        for m in Membership.objects.select_related("user", "department")
    }
    assert roles == {
        ("admin", "administrator", None),
        ("kasse", "cash_office", None),
        ("buergeramt", "clerk", "Bürgeramt"),
        ("ordnungsamt-leitung", "department_head", "Ordnungsamt"),
    }
    assert AuditEntry.objects.filter(actor_label="demo", action="user.created").count() == 4


def test_running_it_twice_creates_nothing_and_prints_what_exists() -> None:
    first = _load()
    before = _counts()
    second = _load()
    assert _counts() == before
    assert "schon angelegt" in second
    assert "Offene Forderungen (25)" in second
    for receivable in Receivable.objects.filter(status=ReceivableStatus.OPEN):
        assert receivable.kassenzeichen_display in second
    for line in first.splitlines():
        if line.strip().startswith(("admin ", "kasse ", "buergeramt ", "ordnungsamt-leitung ")):
            assert line in second


def test_a_changed_password_is_no_longer_printed() -> None:
    _load()
    clerk = User.objects.get(username="buergeramt")
    clerk.set_password("ganz-geheim")
    clerk.save()
    output = _load()
    row = next(r for r in output.splitlines() if r.strip().startswith("buergeramt "))
    assert "demo-buergeramt-2026" not in row
    assert "(eigenes Passwort)" in row


def test_an_existing_account_with_a_demo_name_is_left_alone() -> None:
    User.objects.create_superuser("admin", "it@example.org", "mein-eigenes-passwort")
    output = _load()
    assert authenticate(username="admin", password="mein-eigenes-passwort") is not None
    assert authenticate(username="admin", password="demo-admin-2026") is None
    assert not Membership.objects.filter(user__username="admin").exists()
    assert "demo-admin-2026" not in output
    assert "nicht verändert" in output
    assert authenticate(username="kasse", password="demo-kasse-2026") is not None


def test_a_failure_half_way_leaves_nothing_behind(monkeypatch: pytest.MonkeyPatch) -> None:
    before = _counts()

    def refuse(**kwargs: object) -> None:
        raise ValidationFailed({"role": "Rollen sind gerade gesperrt."})

    # The staff come last: by then the city, its notices and payments are all written.
    monkeypatch.setattr(organisation_services, "grant_role", refuse)
    with pytest.raises(CommandError, match=r"nichts gespeichert.*gesperrt"):
        _load()
    assert _counts() == before
    monkeypatch.undo()
    assert "Stadt Musterstadt ist angelegt" in _load()


@pytest.mark.django_db
def test_the_demo_api_key_can_be_given_and_works(
    monkeypatch: pytest.MonkeyPatch, client: object
) -> None:
    from rathauskasse.api import keys

    token = keys.generate("test").token
    monkeypatch.setenv("RATHAUSKASSE_DEMO_API_KEY", token)
    out = io.StringIO()
    call_command("load_demo", stdout=out)
    assert token in out.getvalue()
    response = client.get(  # type: ignore[attr-defined]
        "/api/v1/receivables?limit=1", HTTP_AUTHORIZATION=f"Bearer {token}"
    )
    assert response.status_code == 200
    assert len(response.json()["data"]) == 1


@pytest.mark.django_db
def test_a_malformed_demo_api_key_is_refused_and_nothing_is_saved(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RATHAUSKASSE_DEMO_API_KEY", "test_kaputt")
    with pytest.raises(CommandError):
        call_command("load_demo", stdout=io.StringIO())
    assert not Organisation.objects.exists()


def test_open_notices_have_letters_and_the_overdue_one_a_reminder_with_its_fee() -> None:
    _load()
    org = _musterstadt()
    open_notices = Receivable.objects.filter(
        organisation=org, source=ReceivableSource.NOTICE, status=ReceivableStatus.OPEN
    )
    assert open_notices.count() == 25
    assert all(r.notices.filter(kind=NoticeKind.NOTICE).exists() for r in open_notices)
    (reminder,) = Notice.objects.filter(organisation=org, kind=NoticeKind.REMINDER)
    assert reminder.receivable.debtor_name == "Murat Yılmaz"
    assert reminder.fee_cents == 500
    assert reminder.amount_cents == 3500 + 500
    assert {p.department.name if p.department else None for p in ReminderPolicy.objects.all()} == {
        None,
        "Jugendamt",
    }
    assert set(NoticeTemplate.objects.filter(organisation=org).values_list("kind", flat=True)) == {
        "notice",
        "reminder",
    }
    _load()  # again: no second letter, no second reminder
    assert Notice.objects.filter(organisation=org).count() == 26
