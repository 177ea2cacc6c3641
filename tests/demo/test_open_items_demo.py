"""The demo's finance system export: its profile comes with the city, its file imports cleanly."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from rathauskasse.demo import data
from rathauskasse.finance.models import OpenItemProfile
from rathauskasse.ledger import selectors as ledger_selectors
from rathauskasse.organisations.models import Organisation
from rathauskasse.receivables.models import Receivable, ReceivableSource

pytestmark = pytest.mark.django_db


def test_the_sample_file_imports_once_with_the_demo_profile() -> None:
    out = io.StringIO()
    call_command("load_demo", stdout=out)
    assert "manage.py import_open_items" in out.getvalue()
    assert "/admin/finance/openitemimport/upload/" in out.getvalue()
    org = Organisation.objects.get(slug="musterstadt")
    profile = OpenItemProfile.objects.get(organisation=org, name="finanzverfahren")
    assert profile.encoding == "cp1252"

    out = io.StringIO()
    call_command(
        "import_open_items", str(data.OPEN_ITEMS_CSV), "--profile", "finanzverfahren", stdout=out
    )
    assert out.getvalue().startswith("12 Forderungen angelegt (Summe 5.208,36 €).")
    imported = Receivable.objects.filter(organisation=org, source=ReceivableSource.IMPORT)
    assert imported.count() == 12
    assert imported.filter(debtor_name="Käthe Schäfer", debtor_city="Kreuzau").exists()
    assert imported.order_by("id").last().debtor_country == "BE"  # abroad comes last
    assert ledger_selectors.check_integrity(organisation_id=org.pk).ok

    out = io.StringIO()
    call_command(
        "import_open_items", str(data.OPEN_ITEMS_CSV), "--profile", "finanzverfahren", stdout=out
    )
    assert "bereits importiert" in out.getvalue()
    call_command("load_demo", stdout=io.StringIO())  # loading again keeps the profile as it is
    assert OpenItemProfile.objects.filter(organisation=org).count() == 1
