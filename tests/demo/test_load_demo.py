"""The demo city: everything a newcomer clicks through, created once."""

from __future__ import annotations

import io

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command

from rathauskasse.catalogue.models import Service
from rathauskasse.catalogue.services import quote
from rathauskasse.core.models import User
from rathauskasse.ledger import selectors as ledger_selectors
from rathauskasse.ledger.models import JournalEntry
from rathauskasse.organisations.models import Department, Membership, Organisation
from rathauskasse.payments.models import Payment, PaymentStatus
from rathauskasse.receivables import selectors as receivable_selectors
from rathauskasse.receivables.models import Receivable, ReceivableStatus

pytestmark = pytest.mark.django_db


def _load() -> str:
    out = io.StringIO()
    call_command("load_demo", stdout=out)
    return out.getvalue()


def _counts() -> tuple[int, ...]:
    return (
        Organisation.objects.count(),
        Service.objects.count(),
        Receivable.objects.count(),
        Payment.objects.count(),
        JournalEntry.objects.count(),
        User.objects.count(),
        Membership.objects.count(),
    )


def test_demo_city_has_offices_services_and_open_notices() -> None:
    output = _load()
    org = Organisation.objects.get(slug="musterstadt")
    assert set(Department.objects.filter(organisation=org).values_list("name", flat=True)) == {
        "Bürgeramt",
        "Ordnungsamt",
        "Bauamt",
        "Jugendamt",
        "Stadtkasse",
    }
    assert Service.objects.filter(organisation=org).count() >= 10

    def fee(slug: str, **answers: object) -> int:
        service = Service.objects.get(organisation=org, slug=slug)
        data = {"name": "Erika Mustermann", "email": "erika@example.org", **answers}
        return quote(service=service, data=data).fee.total_cents

    assert fee("anwohnerparkausweis", address="Heidestr. 17", plate="MS-AB 1", zone="A") == 3070
    assert fee("beglaubigung", document="Zeugnis", pages="3") == 1500
    assert fee("bauakteneinsicht", parcel="Markt 1") == 2500
    assert (
        fee("sondernutzungserlaubnis", kind="umzug", location="Markt 1", start="01.12.2026") == 3500
    )
    assert (
        fee("sondernutzungserlaubnis", kind="geruest", location="Markt 1", start="2026-12-01")
        == 12000
    )
    assert fee("hundeanmeldung", address="Heidestr. 17", dog_name="Bello", since="01.11.2026") == 0

    open_ones = Receivable.objects.filter(organisation=org, status=ReceivableStatus.OPEN)
    assert open_ones.count() == 25
    for receivable in open_ones:
        assert receivable_selectors.open_amount(receivable=receivable) == receivable.amount_cents
        assert receivable.kassenzeichen_display in output


def test_demo_payments_are_booked_and_the_ledger_balances() -> None:
    _load()
    paid = Payment.objects.filter(status=PaymentStatus.SUCCEEDED)
    assert paid.count() >= 3
    assert JournalEntry.objects.filter(kind="payment_succeeded").count() == paid.count()
    for payment in paid:
        assert payment.receivables.get().status == ReceivableStatus.PAID
    assert ledger_selectors.check_integrity().ok


def test_demo_staff_can_log_in_with_the_printed_passwords() -> None:
    output = _load()
    for username, password in [
        ("admin", "demo-admin-2026"),
        ("kasse", "demo-kasse-2026"),
        ("buergeramt", "demo-buergeramt-2026"),
    ]:
        assert username in output
        assert password in output
        assert authenticate(username=username, password=password) is not None
    assert User.objects.get(username="admin").is_superuser
    clerk = Membership.objects.get(user__username="buergeramt")
    assert (clerk.role, clerk.department.name) == ("clerk", "Bürgeramt")  # type: ignore[union-attr]


def test_running_it_twice_changes_nothing() -> None:
    _load()
    before = _counts()
    output = _load()
    assert _counts() == before
    assert "schon angelegt" in output
    assert "Offene Forderungen (25)" in output
