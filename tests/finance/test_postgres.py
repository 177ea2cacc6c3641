"""On PostgreSQL: the ledger's triggers accept an import at commit, and racing imports of the
same file (or of files sharing a Kassenzeichen) create everything once."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.db import DatabaseError, connection, connections, transaction

from rathauskasse.core.models import AuditEntry
from rathauskasse.finance import services
from rathauskasse.finance.models import OpenItemImport, OpenItemProfile
from rathauskasse.finance.services import Outcome
from rathauskasse.ledger import selectors as ledger_selectors
from rathauskasse.ledger.models import JournalEntry
from rathauskasse.organisations.models import Organisation
from rathauskasse.receivables.models import Receivable
from tests import factories
from tests.finance.conftest import csv_bytes, row

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]


def _race(functions: list[Callable[[], Any]]) -> list[Any]:
    barrier = threading.Barrier(len(functions))

    def run(function: Callable[[], Any]) -> Any:
        try:
            barrier.wait()
            return function()
        except Exception as exc:
            return exc
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=len(functions)) as pool:
        return list(pool.map(run, functions))


def _importer(
    org: Organisation, profile: OpenItemProfile, data: bytes, name: str
) -> Callable[[], Any]:
    return lambda: services.import_open_items(
        organisation=org, profile=profile, data=data, filename=name, actor=factories.ACTOR
    )


def test_a_committed_import_passes_the_ledgers_triggers(
    org: Organisation, profile: OpenItemProfile
) -> None:
    data = csv_bytes([row(org, n) for n in range(1, 51)])
    result = _importer(org, profile, data, "op.csv")()
    assert result.outcome == Outcome.CREATED
    assert connection.get_autocommit()  # the import's transaction has committed
    assert JournalEntry.objects.filter(kind="receivable_created").count() == 50
    assert ledger_selectors.check_integrity(organisation_id=org.pk).ok
    for statement in (
        "DELETE FROM finance_openitemimport",
        "UPDATE finance_openitemimport SET row_count = 0",
    ):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(statement)
    assert OpenItemImport.objects.get().row_count == 50


def test_the_same_file_imported_twice_at_once_is_created_once(
    org: Organisation, profile: OpenItemProfile
) -> None:
    data = csv_bytes([row(org, n) for n in range(1, 201)])
    results = _race(
        [_importer(org, profile, data, "a.csv"), _importer(org, profile, data, "b.csv")]
    )
    assert sorted(r.outcome for r in results) == [Outcome.ALREADY_IMPORTED, Outcome.CREATED], (
        results
    )
    assert results[0].receivable_ids == results[1].receivable_ids
    assert Receivable.objects.filter(organisation=org).count() == 200
    assert OpenItemImport.objects.count() == 1
    assert AuditEntry.objects.filter(action="open_item_import.created").count() == 1
    assert ledger_selectors.check_integrity(organisation_id=org.pk).ok


def test_files_sharing_a_kassenzeichen_at_once_create_one_of_them(
    org: Organisation, profile: OpenItemProfile
) -> None:
    first = csv_bytes([row(org, n) for n in range(1, 101)])
    second = csv_bytes([row(org, n, Betrag="1,00") for n in range(100, 201)])
    results = _race(
        [_importer(org, profile, first, "a.csv"), _importer(org, profile, second, "b.csv")]
    )
    outcomes = sorted(r.outcome for r in results)
    assert outcomes == [Outcome.CREATED, Outcome.REJECTED], results
    rejected = next(r for r in results if r.outcome == Outcome.REJECTED)
    assert [e.column for e in rejected.errors] == ["Kassenzeichen"]
    assert "ist bereits vergeben" in rejected.errors[0].message
    created = next(r for r in results if r.outcome == Outcome.CREATED)
    assert Receivable.objects.filter(organisation=org).count() == len(created.receivable_ids)
    assert OpenItemImport.objects.count() == 1
