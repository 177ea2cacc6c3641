"""On PostgreSQL: two exports of one profile started at once make one batch, and the database
refuses to change a batch or the record of what went out."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.db import DatabaseError, connection, connections, transaction

from rathauskasse.finance import services
from rathauskasse.finance.models import ExportBatch, ExportedLine, ExportProfile, ExportTrigger
from tests.finance.exports.conftest import ACTOR, Books, preset_profile

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]


def _export(profile: ExportProfile) -> Any:
    return services.export_bookings(profile=profile, actor=ACTOR, trigger=ExportTrigger.ADMIN)


def test_two_exports_at_once_make_one_batch(books: Books) -> None:
    profile = preset_profile(books.org, "generic-csv")
    barrier = threading.Barrier(2)

    def run() -> Any:
        try:
            barrier.wait()
            return _export(profile)
        except Exception as exc:
            return exc
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda _: run(), range(2)))
    assert not [r for r in results if isinstance(r, Exception)], results
    assert sorted(r.records for r in results) == [0, 10]
    batch = ExportBatch.objects.get()
    assert batch.record_count == 10
    assert ExportedLine.objects.filter(batch_id=batch.pk).count() == 10


def test_the_database_keeps_batches_and_exported_lines(books: Books) -> None:
    profile = preset_profile(books.org, "jsonl")
    assert _export(profile).records == 10
    for statement in (
        "UPDATE finance_exportbatch SET record_count = 0",
        "DELETE FROM finance_exportbatch",
        "DELETE FROM finance_exportedline",
        "UPDATE finance_exportprofileversion SET settings = '{}'",
    ):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(statement)
    assert ExportedLine.objects.count() == 10
