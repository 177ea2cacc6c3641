"""The command line, the daily run, and the reconciliation of open items."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django_tasks import default_task_backend

from rathauskasse.core import clock
from rathauskasse.finance import reconcile, services, tasks
from rathauskasse.finance.models import ExportBatch, ExportTrigger, OpenItemProfile
from rathauskasse.receivables.kassenzeichen import Scheme
from tests.finance.exports.conftest import ACTOR, DAY, Books, preset_profile

pytestmark = pytest.mark.django_db


def _run(*args: str) -> list[str]:
    out = StringIO()
    with clock.frozen(DAY + dt.timedelta(days=2)):
        call_command("export_bookings", *args, stdout=out)
    return out.getvalue().splitlines()


def test_the_command_exports_new_records_and_then_none(books: Books, tmp_path: Path) -> None:
    preset_profile(books.org, "infoma-zahlungseingaenge")
    target = tmp_path / "ze.csv"
    lines = _run(
        "--profile", "infoma-zahlungseingaenge", "--until", "30.11.2026", "--output", str(target)
    )
    assert lines[-1] == f"exported 4 records to {target}"
    batch = ExportBatch.objects.get()
    assert batch.trigger == ExportTrigger.COMMAND
    with services.open_batch_file(batch=batch) as stored:
        assert target.read_bytes() == stored.read()
    lines = _run("--profile", "infoma-zahlungseingaenge", "--output", str(target))
    assert lines[-1] == f"exported 1 records to {target}"
    lines = _run("--profile", "infoma-zahlungseingaenge", "--output", str(target))
    assert lines[-1] == f"exported 0 records to {target}"
    assert target.read_bytes().decode("cp1252").startswith("Kassenzeichen;Betrag;")
    assert target.read_bytes().count(b"\r\n") == 1  # the header only
    assert ExportBatch.objects.count() == 2


def test_the_command_says_what_is_wrong(books: Books, tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="Exportprofil „sap-flat“ gibt es"):
        _run("--profile", "sap-flat", "--output", str(tmp_path / "x"))
    preset_profile(books.org, "sap-flat")
    with pytest.raises(CommandError, match="kein Datum"):
        _run("--profile", "sap-flat", "--until", "morgen", "--output", str(tmp_path / "x"))


def test_the_daily_export_runs_at_its_time_and_plans_the_next(
    books: Books, run_tasks: Callable[[], list[str]]
) -> None:
    at = dt.datetime(2026, 12, 2, 5, 0, tzinfo=clock.BERLIN)
    with clock.frozen(at):
        profile = preset_profile(books.org, "jsonl", daily_at=dt.time(6, 30))
    assert profile.next_run_at == dt.datetime(2026, 12, 2, 6, 30, tzinfo=clock.BERLIN)
    with clock.frozen(at + dt.timedelta(hours=1)):
        assert "run_daily_export" not in run_tasks()  # not due yet
    with clock.frozen(at + dt.timedelta(hours=2)):
        assert run_tasks().count("run_daily_export") == 1
    batch = ExportBatch.objects.get()
    assert batch.trigger == ExportTrigger.SCHEDULE
    assert batch.record_count == 10
    profile.refresh_from_db()
    assert profile.next_run_at == dt.datetime(2026, 12, 3, 6, 30, tzinfo=clock.BERLIN)
    pending = default_task_backend.results  # type: ignore[attr-defined]
    planned = [r.args for r in pending if r.task.name == "run_daily_export"]
    assert planned == [[profile.pk, profile.next_run_at.isoformat()]]


def test_a_superseded_daily_run_does_nothing(books: Books) -> None:
    with clock.frozen(dt.datetime(2026, 12, 2, 5, 0, tzinfo=clock.BERLIN)):
        profile = preset_profile(books.org, "jsonl", daily_at=dt.time(6, 30))
        old = profile.next_run_at
        assert old is not None
        profile.daily_at = dt.time(7, 0)
        services.save_export_profile(actor=ACTOR, profile=profile)
    assert tasks.run_daily_export.call(profile.pk, old.isoformat()) == 0
    assert not ExportBatch.objects.exists()


@pytest.fixture
def list_profile(books: Books) -> OpenItemProfile:
    return services.create_profile(
        actor=ACTOR,
        organisation=books.org,
        name="op-liste",
        column_kassenzeichen="KZ",
        column_amount="Offen",
        column_debtor_name="Name",
        default_budget_line=None,
        default_department=books.receivables[0].department,
        default_purpose="Abgleich",
        column_budget_line="HHSt",
    )


def test_the_reconciliation_names_what_either_side_lacks(
    books: Books, list_profile: OpenItemProfile
) -> None:
    # Here: 1 partly refunded (10,00 open), 2 open again after the returned debit (17,50),
    # 3 paid, 4 cancelled.
    scheme = Scheme.of(books.org)
    kz = [scheme.display(r.kassenzeichen) for r in books.receivables]
    other = scheme.display(scheme.build(year=2026, number=99))
    rows = [
        "KZ;Offen;Name",
        f"{kz[0]};10,00;Erika Mustermann",  # agrees
        f"{kz[2]};9,99;Erika Mustermann",  # paid here
        f"{kz[3]};42,00;Erika Mustermann",  # cancelled here
        f"{other};5,00;Unbekannt",  # unknown here
        "123;1,00;kaputt",  # not a Kassenzeichen of the scheme
    ]
    data = ("\r\n".join(rows) + "\r\n").encode()
    report = services.reconcile_open_items(organisation=books.org, profile=list_profile, data=data)
    assert report.matched == 1
    assert {(d.kassenzeichen, d.note) for d in report.only_in_finance} == {
        (kz[2], "hier bezahlt"),
        (kz[3], "hier storniert"),
        (other, "hier unbekannt"),
    }
    assert report.only_here == [reconcile.Difference(kz[1], None, 1750)]
    assert report.amounts_differ == []
    assert [e.row for e in report.errors] == [6]
    assert not report.in_agreement

    differs = f"KZ;Offen;Name\r\n{kz[0]};12,00;X\r\n{kz[1]};17,50;Y\r\n".encode()
    report = services.reconcile_open_items(
        organisation=books.org, profile=list_profile, data=differs
    )
    assert report.amounts_differ == [reconcile.Difference(kz[0], 1200, 1000)]
    assert report.only_here == report.only_in_finance == []
