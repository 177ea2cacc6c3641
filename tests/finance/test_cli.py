"""`manage.py import_open_items FILE.csv --profile NAME`: says what it did, fails on a bad file."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from rathauskasse.finance import services
from rathauskasse.finance.models import OpenItemProfile
from rathauskasse.organisations.models import Organisation
from rathauskasse.receivables.models import Receivable
from tests import factories
from tests.finance.conftest import counts, csv_bytes, row

pytestmark = pytest.mark.django_db


def _call(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("import_open_items", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_it_prints_how_many_receivables_it_created_and_their_sum(
    org: Organisation, profile: OpenItemProfile, tmp_path: Path
) -> None:
    path = tmp_path / "op.csv"
    path.write_bytes(csv_bytes([row(org, 1), row(org, 2, Betrag="1.000,00")]))
    out, _ = _call(str(path), "--profile", "finanzverfahren")
    assert out.startswith("2 Forderungen angelegt (Summe 1.012,50 €).\n")
    assert f"für {org.name}, Profil „finanzverfahren“, Datei „op.csv“" in out
    assert Receivable.objects.count() == 2

    out, _ = _call(str(path), "--profile", "finanzverfahren", "--organisation", org.slug)
    assert out.startswith("Diese Datei wurde bereits importiert am ")
    assert "keine neuen Forderungen" in out
    assert Receivable.objects.count() == 2


def test_a_rejected_file_lists_every_reason_and_fails(
    org: Organisation, profile: OpenItemProfile, tmp_path: Path
) -> None:
    path = tmp_path / "op.csv"
    path.write_bytes(csv_bytes([row(org, 1, Betrag="12,5O"), row(org, 2, Fällig="31.02.2026")]))
    before = counts()
    err = io.StringIO()
    with pytest.raises(CommandError, match=r"abgelehnt; es wurde nichts angelegt\. 2 Fehler"):
        call_command("import_open_items", str(path), "--profile", "finanzverfahren", stderr=err)
    assert err.getvalue().splitlines() == [
        "Zeile 2, Spalte „Betrag“: „12,5O“ ist kein Betrag; erwartet wird z. B. „1.234,56“.",
        "Zeile 3, Spalte „Fällig“: Den 31.02.2026 gibt es nicht.",
    ]
    assert counts() == before


def test_a_name_two_organisations_use_needs_the_organisation(
    org: Organisation, profile: OpenItemProfile, tmp_path: Path
) -> None:
    other = factories.organisation()
    services.create_profile(
        actor=factories.ACTOR,
        organisation=other,
        name="finanzverfahren",
        column_kassenzeichen="KZ",
        column_amount="Betrag",
        column_debtor_name="Name",
        default_budget_line=factories.budget_line(other),
        default_department=factories.department(other),
        default_purpose="Gebühr",
    )
    path = tmp_path / "op.csv"
    path.write_bytes(csv_bytes([row(org, 1)]))
    with pytest.raises(CommandError, match="Mehrere Organisationen"):
        _call(str(path), "--profile", "finanzverfahren")
    out, _ = _call(str(path), "--profile", "finanzverfahren", "--organisation", org.slug)
    assert out.startswith("1 Forderungen angelegt")
    assert Receivable.objects.get().organisation == org


def test_unknown_profiles_organisations_and_files_are_named(
    org: Organisation, profile: OpenItemProfile, tmp_path: Path
) -> None:
    path = tmp_path / "op.csv"
    path.write_bytes(b"x")
    with pytest.raises(CommandError, match=r"Ein Profil „sap“ gibt es nicht\."):
        _call(str(path), "--profile", "sap")
    with pytest.raises(CommandError, match=r"Die Organisation „nirgendwo“ gibt es nicht\."):
        _call(str(path), "--profile", "finanzverfahren", "--organisation", "nirgendwo")
    with pytest.raises(CommandError, match="lässt sich nicht lesen"):
        _call(str(tmp_path / "fehlt.csv"), "--profile", "finanzverfahren")
