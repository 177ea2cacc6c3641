"""Benchmark: export 1,000,000 payments received with the Infoma-style preset, on PostgreSQL.

Builds its own organisation once (reused on later runs): 100,000 receivables through the bulk
path of the open-item import, and 1,000,000 succeeded payments of ten per receivable, each a
`Payment` row (for its method) and a posting "debit provider clearing, credit Receivables" through
`ledger.services.post_many`, in batches of 100,000. Then a fresh process (so that its peak memory
is the export's, not the set-up's) creates a new `infoma-zahlungseingaenge` profile and exports
every record with `finance.services.export_bookings`: claim, stream, format, encode, store.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/rk_export_bench \
        .venv/bin/python bench/export.py [--payments 1000000]

prints the machine, versions and load, the time and the peak resident memory of the exporting
process (and what it held before the export began), a reference measured in the same run (only
reading the payments' lines and entries through the same server-side cursor: what the machine
and its load allow at that moment), and as the last line one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
import uuid
from pathlib import Path

from _setup import ROOT, machine, setup_django

PER_RECEIVABLE = 10
BATCH = 100_000
METHODS = ("card", "sepa_debit", "paypal", "giropay", "wero")


def _slug(payments: int) -> str:
    return f"bench-export-{payments}"


def _rss_mb() -> float:
    """Peak resident memory of this process so far."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _current_rss_mb() -> float:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 1024 / 1024


def reference(organisation_id: int) -> float:
    """Rows per second of merely reading the payments' lines with their entries (same cursor,
    same chunks, nothing written): what this machine and its load allow right now."""
    from django.db import connection, transaction

    t0, rows = time.perf_counter(), 0
    with transaction.atomic(), connection.chunked_cursor() as cursor:
        cursor.execute(
            "SELECT l.id, l.amount_cents, l.open_item_id, e.booking_date, e.text, e.reference "
            "FROM ledger_journalline l JOIN ledger_account a ON a.id = l.account_id "
            "JOIN ledger_journalentry e ON e.id = l.entry_id "
            "WHERE a.organisation_id = %s AND a.kind = 'receivables' "
            "AND e.kind = 'payment_succeeded' ORDER BY l.id",
            [organisation_id],
        )
        while chunk := cursor.fetchmany(10_000):
            rows += len(chunk)
    return rows / (time.perf_counter() - t0)


def build(payments: int) -> None:
    """The organisation with `payments` payments received, unless it exists already."""
    from django.db import transaction

    from rathauskasse.core import audit, clock, sql
    from rathauskasse.ledger import rules
    from rathauskasse.ledger import services as ledger
    from rathauskasse.ledger.models import EntryKind
    from rathauskasse.organisations.models import Organisation
    from rathauskasse.organisations.services import (
        create_budget_line,
        create_department,
        create_organisation,
    )
    from rathauskasse.payments.models import Payment
    from rathauskasse.receivables.kassenzeichen import Scheme
    from rathauskasse.receivables.models import ReceivableSource
    from rathauskasse.receivables.services import (
        Debtor,
        LineInput,
        NewReceivable,
        create_receivables_bulk,
    )

    slug = _slug(payments)
    if Organisation.objects.filter(slug=slug).exists():
        print(f"set-up: reusing organisation {slug}")
        return
    actor = audit.Actor(label="bench")
    t0 = time.perf_counter()
    org = create_organisation(
        actor=actor,
        slug=slug,
        name="Benchstadt Export",
        creditor_name="Stadtkasse Benchstadt",
        iban="DE02120300000000202051",
        kz_prefix="",
        kz_year_digits=2,
        kz_number_digits=7,
        kz_check_algorithm="weighted2n",
    )
    department = create_department(actor=actor, organisation=org, name="Steueramt", code="20")
    lines = [
        create_budget_line(
            actor=actor,
            organisation=org,
            code=f"611010.40{n}",
            name=f"Abgaben {n}",
            product=f"61.10.{n}",
            account="401300",
            cost_centre=f"20{n % 10}",
        )
        for n in range(1300, 1305)
    ]
    scheme = Scheme.of(org)
    receivable_count = max(1, payments // PER_RECEIVABLE)
    receivable_ids: list[int] = []
    for start in range(0, receivable_count, BATCH):
        stop = min(receivable_count, start + BATCH)
        batch = [
            NewReceivable(
                department=department,
                lines=[
                    LineInput(
                        text="Grundbesitzabgaben",
                        amount_cents=100_000 + i % 5000,
                        budget_line=lines[i % len(lines)],
                    )
                ],
                purpose="Grundbesitzabgaben 2027",
                debtor=Debtor(name=f"Müller, Erika {i}", account=f"{700000 + i}"),
                kassenzeichen=scheme.build(year=2027, number=i + 1),
            )
            for i in range(start, stop)
        ]
        with transaction.atomic():
            receivable_ids += create_receivables_bulk(
                actor=actor, organisation=org, receivables=batch, source=ReceivableSource.IMPORT
            )
    print(f"set-up: {receivable_count} receivables in {time.perf_counter() - t0:.1f} s")
    columns = (
        "id",
        "organisation_id",
        "public_id",
        "amount_cents",
        "description",
        "provider",
        "method",
        "status",
        "refund_status",
        "provider_reference",
        "return_url",
        "redirect_url",
        "failure_reason",
        "payer_email",
        "created_at",
        "updated_at",
        "expires_at",
    )
    now = clock.now()
    for start in range(0, payments, BATCH):
        stop = min(payments, start + BATCH)
        with transaction.atomic():
            ids = sql.reserve_ids(Payment, stop - start)
            public = [uuid.uuid4() for _ in ids]
            cents = [1 + (i * 7919) % 9999 for i in range(start, stop)]
            sql.copy_rows(
                Payment,
                columns,
                (
                    (
                        pid,
                        org.pk,
                        pub,
                        c,
                        "Grundbesitzabgaben",
                        "sandbox",
                        METHODS[pid % 5],
                        "succeeded",
                        "none",
                        "",
                        "",
                        "",
                        "",
                        "",
                        now,
                        now,
                        now,
                    )
                    for pid, pub, c in zip(ids, public, cents, strict=True)
                ),
            )
            ledger.post_many(
                organisation_id=org.pk,
                actor=actor,
                entries=[
                    ledger.NewEntry(
                        kind=EntryKind.PAYMENT_SUCCEEDED,
                        text=f"Zahlung sandbox Grundbesitzabgaben {i}",
                        lines=rules.payment_succeeded(
                            provider="sandbox",
                            allocations=[(receivable_ids[i // PER_RECEIVABLE], c)],
                        ),
                        idempotency_key=f"payment:{pid}:succeeded",
                        reference=f"payment:{pub}",
                    )
                    for i, pid, pub, c in zip(range(start, stop), ids, public, cents, strict=True)
                ],
            )
        print(f"set-up: {stop} payments posted, {time.perf_counter() - t0:.1f} s")
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def measure(payments: int) -> dict[str, float]:
    """In this process: export every payment of the organisation with a new Infoma profile."""
    from rathauskasse.core import audit
    from rathauskasse.finance import presets, services
    from rathauskasse.finance.models import ExportTrigger
    from rathauskasse.organisations.models import Organisation

    org = Organisation.objects.get(slug=_slug(payments))
    actor = audit.Actor(label="bench")
    fields = presets.fields("infoma-zahlungseingaenge")
    fields["name"] = f"infoma-{time.time_ns()}"
    profile = services.create_export_profile(actor=actor, organisation=org, **fields)
    reference_rows_per_s = reference(org.pk)
    before = _current_rss_mb()
    t0 = time.perf_counter()
    result = services.export_bookings(profile=profile, actor=actor, trigger=ExportTrigger.COMMAND)
    seconds = time.perf_counter() - t0
    batch = result.batch
    if batch is None or result.records != payments:
        raise RuntimeError(f"exported {result.records} records, expected {payments}")
    return {
        "records": result.records,
        "seconds": seconds,
        "rows_per_s": result.records / seconds,
        "rss_before_mb": before,
        "reference_rows_per_s": reference_rows_per_s,
        "peak_rss_mb": _rss_mb(),
        "file_mb": batch.size_bytes / 1024 / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--payments", type=int, default=1_000_000)
    parser.add_argument("--measure-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    setup_django()
    if args.measure_only:
        print(json.dumps(measure(args.payments)))
        return
    from django.db import connection

    if connection.vendor != "postgresql":
        print("WARNING: DATABASE_URL is not PostgreSQL; figures are not comparable.")
    facts = machine()
    print(f"machine: {facts}, load average {os.getloadavg()[0]:.1f}")
    build(args.payments)
    connection.close()
    child = subprocess.run(  # noqa: S603 - this script itself, with its own arguments
        [sys.executable, str(Path(__file__)), "--payments", str(args.payments), "--measure-only"],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    figures = json.loads(child.stdout.strip().splitlines()[-1])
    print(
        f"export: {figures['records']:,} records in {figures['seconds']:.2f} s, "
        f"{figures['rows_per_s']:,.0f} rows/s, file {figures['file_mb']:.1f} MB; "
        f"peak RSS {figures['peak_rss_mb']:.0f} MB ({figures['rss_before_mb']:.0f} MB before); "
        f"reading the same lines alone: {figures['reference_rows_per_s']:,.0f} rows/s"
    )
    result = {
        "bench": "export",
        "records": figures["records"],
        "seconds": round(figures["seconds"], 2),
        "rows_per_s": round(figures["rows_per_s"]),
        "peak_rss_mb": round(figures["peak_rss_mb"], 1),
        "rss_before_mb": round(figures["rss_before_mb"], 1),
        "reference_rows_per_s": round(figures["reference_rows_per_s"]),
        "load_average": round(os.getloadavg()[0], 1),
        **{k: v for k, v in facts.items() if k in ("cpus", "python", "django", "database")},
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
