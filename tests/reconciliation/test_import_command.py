"""`manage.py import_statement`: each file on its own, a summary in German, a progress bar."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from rathauskasse.organisations.models import BudgetLine, Department, Organisation
from rathauskasse.reconciliation import services
from rathauskasse.reconciliation.models import BankAccount, StatementFile, StatementLine
from tests import factories
from tests.reconciliation.conftest import OTHER_IBAN, info, line, statement_bytes

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("standins")]


def _call(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("import_statement", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_it_imports_books_and_reports_each_file(
    tmp_path: Path,
    org: Organisation,
    bank_account: BankAccount,
    department: Department,
    budget_line: BudgetLine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(services, "CHUNK", 1)
    receivable = factories.receivable(org, department, budget_line, 123456)
    first = tmp_path / "auszug-1.json"
    first.write_bytes(
        statement_bytes(
            [
                line(123456, f"KZ {receivable.kassenzeichen_display}", entry=1),
                line(1999, "ohne Bezug", entry=2),
            ]
        )
    )
    out, err = _call(str(first), "--organisation", org.slug)
    assert "auszug-1.json: 2 Zeilen gelesen, 2 neu: 1 gebucht" in out
    assert "1 in der Klärung" in out
    assert "Eingänge 1.254,55 €" in out
    assert "davon ungeklärt 19,99 €" in out
    assert "[" in err and "2/2 Zeilen gebucht" in err
    # The same file again, and a copy under another name: nothing new.
    copy = tmp_path / "kopie.json"
    copy.write_bytes(first.read_bytes())
    out, _ = _call(str(first), str(copy), "--organisation", org.slug)
    assert out.count("bereits am") == 2
    assert StatementLine.objects.count() == 2
    assert StatementFile.objects.get().actor_label.startswith("manage.py import_statement")


def test_a_refused_file_does_not_stop_the_others_but_fails_the_command(
    tmp_path: Path, org: Organisation, bank_account: BankAccount
) -> None:
    bad = tmp_path / "fremd.json"
    bad.write_bytes(statement_bytes([line(100, "x", statement=info(iban=OTHER_IBAN))]))
    good = tmp_path / "gut.json"
    good.write_bytes(statement_bytes([line(100, "x")]))
    missing = tmp_path / "fehlt.json"
    with pytest.raises(CommandError, match="2 von 3 Dateien wurden nicht importiert"):
        _call(str(bad), str(missing), str(good))
    assert StatementLine.objects.count() == 1
    assert StatementFile.objects.get().file_name == "gut.json"


def test_an_unreadable_file_is_refused_with_the_reason(
    tmp_path: Path, org: Organisation, bank_account: BankAccount
) -> None:
    bad = tmp_path / "kaputt.json"
    bad.write_bytes(b"kein Auszug")
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("import_statement", str(bad), stdout=io.StringIO(), stderr=err)
    assert "kein lesbarer Kontoauszug" in err.getvalue()
    assert StatementFile.objects.count() == 0


def test_with_several_organisations_it_asks_which(tmp_path: Path, org: Organisation) -> None:
    factories.organisation()
    with pytest.raises(CommandError, match="--organisation"):
        _call(str(tmp_path / "a.json"))
    with pytest.raises(CommandError, match="gibt es nicht"):
        _call(str(tmp_path / "a.json"), "--organisation", "unbekannt")
