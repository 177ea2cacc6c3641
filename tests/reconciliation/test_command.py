"""`manage.py parse_statement FILE`: JSON lines out, German error and status 1, no database."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from tests.reconciliation.camtfiles import Entry, Tx, camt

ROOT = Path(__file__).resolve().parents[2]


def _call(path: Path, django_db_blocker: pytest.FixtureRequest) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    with django_db_blocker.block():  # type: ignore[attr-defined]
        call_command("parse_statement", str(path), stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_it_prints_one_json_object_per_line_with_signed_cents(
    tmp_path: Path, django_db_blocker: pytest.FixtureRequest
) -> None:
    path = tmp_path / "auszug.xml"
    path.write_bytes(
        camt(
            Entry(amount="12.34"),
            Entry(amount="30.00", indicator="DBIT", txs=[Tx(amount="10.00"), Tx(amount="20.00")]),
        )
    )

    out, err = _call(path, django_db_blocker)

    rows = [json.loads(line) for line in out.splitlines()]
    assert [row["amount_cents"] for row in rows] == [1234, -1000, -2000]
    assert rows[0]["format"] == "camt.053.001.08"
    assert rows[0]["account_iban"] == "DE89370400440532013000"
    assert rows[0]["booking_date"] == "2026-11-30"
    assert rows[1]["batch"] is True
    assert rows[1]["transaction_index"] == 1
    assert "3 Umsätze gelesen" in err


def test_an_unreadable_file_is_a_german_error(
    tmp_path: Path, django_db_blocker: pytest.FixtureRequest
) -> None:
    path = tmp_path / "kaputt.xml"
    path.write_bytes(camt(Entry(amount="zwölf")))

    with pytest.raises(CommandError, match=r"Eintrag 1.*Der Betrag „zwölf“ ist nicht lesbar"):
        _call(path, django_db_blocker)


def _run(path: Path) -> subprocess.CompletedProcess[str]:
    # A database nobody listens on: the command works only if it never connects.
    return subprocess.run(  # noqa: S603 - our own manage.py
        [sys.executable, str(ROOT / "manage.py"), "parse_statement", str(path)],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        env={"DATABASE_URL": "postgres://nobody@127.0.0.1:1/none", "PATH": "/usr/bin:/bin"},
        timeout=60,
    )


def test_the_command_runs_without_any_database_and_fails_with_status_1(tmp_path: Path) -> None:
    good, empty = tmp_path / "gut.xml", tmp_path / "leer.sta"
    good.write_bytes(camt(Entry()))
    empty.write_bytes(b"")

    ok, failed = _run(good), _run(empty)

    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["amount_cents"] == 1000
    assert failed.returncode == 1
    assert "Die Datei ist leer." in failed.stderr
    assert failed.stdout == ""


def test_a_csv_file_with_a_named_profile(
    tmp_path: Path, django_db_blocker: pytest.FixtureRequest
) -> None:
    path = tmp_path / "umsaetze.csv"
    path.write_bytes(
        '"Auftragskonto";"Buchungstag";"Betrag";"Verwendungszweck"\r\n'
        '"DE89370400440532013000";"01.12.26";"-7,50";"Gebühr"\r\n'.encode("cp1252")
    )
    out, err = io.StringIO(), io.StringIO()

    with django_db_blocker.block():  # type: ignore[attr-defined]
        call_command(
            "parse_statement", str(path), "--csv-profile", "sparkasse-camt", stdout=out, stderr=err
        )

    [row] = [json.loads(line) for line in out.getvalue().splitlines()]
    assert (row["format"], row["amount_cents"], row["remittance_text"]) == (
        "csv:sparkasse-camt",
        -750,
        "Gebühr",
    )
