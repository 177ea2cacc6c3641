"""Benchmark: 10,000 notices issued and printed into one PDF, in notices per second and memory.

The receivables are built first through the services (`create_receivable`: lines, posting,
audit), in bulk, in one transaction. Then a fresh process issues the notices of all of them
with `receivables.notices.issue_batch(..., channel="print", output=<file>)`: one Notice row, one
audit entry and one letter per receivable (pay-link QR code, GiroCode, the letter's own PDF for
its checksum), streamed into one print file in the order of the postal codes. A second fresh
process does the same for 2,000 (rolled back), so that the two peaks (ru_maxrss) show whether
memory grows with the batch. The import figure comes from `bench/_open_items.py` (the CSV
open-item import) when that module exists.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/rathauskasse_bench \
        .venv/bin/python bench/notices.py [--notices 10000] [--small 2000] [--import-rows 100000]

Without DATABASE_URL it uses a temporary SQLite file. Prints the machine and versions, and as
its last line one JSON object.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _setup import ROOT, machine, setup_django

POSTCODES = ("52349", "10115", "80331", "01067", "50667", "20095", "70173", "04109")
NAMES = ("Müller", "Nguyễn Thị Hương", "Yılmaz", "Wąsowska", "Schäfer", "Öztürk", "Weiß")


def _build(n: int) -> tuple[int, list[int]]:
    from django.db import transaction

    from rathauskasse.core import audit, clock
    from rathauskasse.organisations.services import (
        create_budget_line,
        create_department,
        create_organisation,
    )
    from rathauskasse.receivables.kassenzeichen import Scheme
    from rathauskasse.receivables.models import ReceivableSource
    from rathauskasse.receivables.services import Debtor, LineInput, create_receivable

    actor = audit.Actor(label="bench")
    stamp = str(time.time_ns())
    with transaction.atomic():
        org = create_organisation(
            actor=actor,
            slug=f"bench-notices-{stamp}",
            name="Stadt Benchstadt",
            creditor_name="Stadtkasse Benchstadt",
            iban="DE02120300000000202051",
            bic="BYLADEM1001",
            street="Rathausplatz 1",
            postcode="52349",
            city="Benchstadt",
            phone="02421 25-0",
            email="stadtkasse@benchstadt.example",
            kz_prefix="",
            kz_year_digits=2,
            kz_number_digits=7,
            kz_check_algorithm="weighted2n",
        )
        department = create_department(actor=actor, organisation=org, name="Steueramt")
        tax = create_budget_line(actor=actor, organisation=org, code="611010.401300", name="Steuer")
        fee = create_budget_line(actor=actor, organisation=org, code="611010.431100", name="Gebühr")
        today = clock.today()
        scheme = Scheme.of(org)
        ids = []
        for i in range(n):
            lines = [
                LineInput(text="Grundsteuer B", amount_cents=5000 + i % 40_000, budget_line=tax)
            ]
            if i % 3 == 0:
                lines.append(LineInput(text="Abfallgebühr", amount_cents=12_000, budget_line=fee))
            receivable = create_receivable(
                actor=actor,
                organisation=org,
                department=department,
                lines=lines,
                purpose=f"Grundbesitzabgaben {today.year + 1}",
                debtor=Debtor(
                    name=f"{NAMES[i % len(NAMES)]} {i}",
                    street=f"Hauptstraße {i % 200 + 1}",
                    postcode=POSTCODES[(i * 7) % len(POSTCODES)],
                    city="Benchstadt",
                ),
                source=ReceivableSource.IMPORT,
                # Numbers given, as an import brings them: the counter row, updated 10,000 times
                # in one transaction, would measure PostgreSQL's row versions instead.
                kassenzeichen=scheme.build(year=today.year, number=i + 1),
            )
            ids.append(receivable.pk)
    return org.pk, ids


def _issue(ids: list[int], target: str, rollback: bool, out: Any) -> None:  # noqa: FBT001
    setup_django()
    from django.db import transaction

    from rathauskasse.core import audit
    from rathauskasse.receivables import notices

    notices.issue_batch(receivables=ids[:5], actor=audit.Actor(label="warm-up"), output=None)
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    with transaction.atomic(), open(target, "wb") as output:
        result = notices.issue_batch(
            receivables=ids, actor=audit.Actor(label="bench"), channel="print", output=output
        )
        if rollback:
            transaction.set_rollback(True)
    seconds = time.perf_counter() - started
    out.put(
        {
            "notices": len(result.notice_ids),
            "pages": result.pages,
            "seconds": seconds,
            "bytes": os.path.getsize(target),
            "baseline_kb": baseline,
            "peak_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        }
    )


def _in_fresh_process(ids: list[int], target: Path, *, rollback: bool) -> dict[str, Any]:
    context = mp.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_issue, args=(ids, str(target), rollback, queue))
    process.start()
    figures: dict[str, Any] = queue.get()
    process.join()
    return figures


def _import_rate(rows: int) -> tuple[float | None, str]:
    if not (ROOT / "bench" / "_open_items.py").is_file():
        return None, "bench/_open_items.py (the CSV open-item import) does not exist yet"
    import _open_items  # type: ignore[import-not-found]

    rate = _open_items.run(rows=rows)
    if isinstance(rate, dict):
        rate = rate.get("rows_per_s") or rate.get("import_rows_per_s")
    return (round(float(rate), 1) if rate is not None else None), "bench/_open_items.run"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--notices", type=int, default=10_000)
    parser.add_argument("--small", type=int, default=2_000)
    parser.add_argument("--import-rows", type=int, default=100_000)
    options = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="rk-bench-notices-"))
    try:
        if not os.environ.get("DATABASE_URL"):
            os.environ["DATABASE_URL"] = f"sqlite:///{tmp / 'notices.sqlite3'}"
        os.environ["MEDIA_ROOT"] = str(tmp / "media")
        os.environ["EMAIL_URL"] = "dummymail://"
        setup_django()
        facts = machine()
        print("machine:", json.dumps(facts))
        started = time.perf_counter()
        _, ids = _build(options.notices)
        built = time.perf_counter() - started
        print(f"built {len(ids)} receivables through create_receivable in {built:.1f} s")

        small = _in_fresh_process(ids[: options.small], tmp / "small.pdf", rollback=True)
        large = _in_fresh_process(ids, tmp / "print.pdf", rollback=False)
        for label, figures in (("small", small), ("large", large)):
            print(
                f"{label}: {figures['notices']} notices, {figures['pages']} pages, "
                f"{figures['bytes'] / 1e6:.1f} MB PDF in {figures['seconds']:.1f} s "
                f"= {figures['notices'] / figures['seconds']:.0f}/s; "
                f"RSS before {figures['baseline_kb'] / 1024:.0f} MB, "
                f"peak {figures['peak_kb'] / 1024:.0f} MB"
            )
        growth = (large["peak_kb"] - small["peak_kb"]) / 1024
        print(
            f"peak RSS {options.small}: {small['peak_kb'] / 1024:.0f} MB, "
            f"{options.notices}: {large['peak_kb'] / 1024:.0f} MB "
            f"(difference {growth:+.0f} MB for {options.notices - options.small} more letters)"
        )
        rate, source = _import_rate(options.import_rows)
        print(f"import: {rate if rate is not None else 'null'} rows/s ({source})")
        print(
            json.dumps(
                {
                    "bench": "notices",
                    "notices_per_s": round(large["notices"] / large["seconds"], 1),
                    "peak_rss_mb": round(large["peak_kb"] / 1024, 1),
                    "import_rows_per_s": rate,
                }
            )
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
