"""Benchmark: confirming payments from 4 concurrent workers, against a bare INSERT reference.

Each confirmation is the real thing: row lock, state change, payment event, balanced journal
entry with its lines, receivable status, audit entry, all in one transaction. The reference is
a single-row INSERT transaction through the same stack (Django ORM, same workers, same database).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/rathauskasse_bench \
        .venv/bin/python bench/confirm_payments.py [--payments 4000] [--workers 4]

Prints its figures, the machine, and as the last line one JSON object.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import statistics
import time
from typing import Any

from _setup import machine, percentile, setup_django


def _prepare(n: int) -> list[int]:
    from rathauskasse.core import audit
    from rathauskasse.organisations.services import (
        create_budget_line,
        create_department,
        create_organisation,
    )
    from rathauskasse.payments import services as payments
    from rathauskasse.payments.models import EventSource, Payment, PaymentStatus
    from rathauskasse.receivables.models import ReceivableSource
    from rathauskasse.receivables.services import Debtor, LineInput, create_receivable

    actor = audit.Actor(label="bench")
    stamp = str(time.time_ns())
    org = create_organisation(
        actor=actor,
        slug=f"bench-{stamp}",
        name="Benchstadt",
        creditor_name="Stadtkasse Benchstadt",
        iban="DE02120300000000202051",
        kz_prefix="",
        kz_year_digits=4,
        kz_number_digits=8,
    )
    department = create_department(actor=actor, organisation=org, name="Bürgeramt")
    line = create_budget_line(actor=actor, organisation=org, code="1.2.01", name="Gebühren")
    ids: list[int] = []
    for i in range(n):
        receivable = create_receivable(
            actor=actor,
            organisation=org,
            department=department,
            lines=[LineInput(text="Gebühr", amount_cents=1000 + i % 500, budget_line=line)],
            purpose="Bench",
            debtor=Debtor(name="Erika Mustermann"),
            source=ReceivableSource.API,
        )
        payment = payments.create_payment(
            actor=actor,
            organisation=org,
            allocations=[payments.AllocationInput(receivable)],
            provider="sandbox",
            method="card",
        )
        # Started without calling the provider: the benchmark measures our booking, not the sandbox.
        payments._transition(
            payment=payment, to=PaymentStatus.STARTED, source=EventSource.CLIENT, actor=actor
        )
        ids.append(payment.pk)
    assert Payment.objects.filter(pk__in=ids, status=PaymentStatus.STARTED).count() == n
    return ids


def _confirm_worker(ids: list[int], start: Any, out: Any) -> None:
    setup_django()
    from django.db import connection

    from rathauskasse.core import audit
    from rathauskasse.payments import services as payments
    from rathauskasse.payments.models import EventSource, Payment

    actor = audit.Actor(label="provider:sandbox")
    payments_by_id = {p.pk: p for p in Payment.objects.filter(pk__in=ids)}
    connection.ensure_connection()
    latencies = []
    start.wait()
    for pk in ids:
        t0 = time.perf_counter()
        payments.confirm_payment(
            payment=payments_by_id[pk], source=EventSource.NOTIFICATION, actor=actor
        )
        latencies.append(time.perf_counter() - t0)
    out.put(latencies)


def _insert_worker(count: int, start: Any, out: Any) -> None:
    setup_django()
    from django.db import connection, transaction

    from rathauskasse.core import clock
    from rathauskasse.core.models import AuditEntry

    connection.ensure_connection()
    latencies = []
    start.wait()
    for i in range(count):
        t0 = time.perf_counter()
        with transaction.atomic():
            AuditEntry.objects.create(
                created_at=clock.now(),
                actor_label="bench",
                action="bench.reference",
                object_type="bench",
                object_id=str(i),
            )
        latencies.append(time.perf_counter() - t0)
    out.put(latencies)


def _run(target: Any, work: list[Any], workers: int) -> tuple[float, list[float]]:
    ctx = mp.get_context("spawn")
    start = ctx.Barrier(workers + 1)
    out = ctx.Queue()
    procs = [ctx.Process(target=target, args=(w, start, out)) for w in work]
    for p in procs:
        p.start()
    start.wait()
    t0 = time.perf_counter()
    latencies: list[float] = []
    for _ in procs:
        latencies.extend(out.get())
    elapsed = time.perf_counter() - t0
    for p in procs:
        p.join()
    return len(latencies) / elapsed, latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--payments", type=int, default=4000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    setup_django()
    from django.db import connection, connections

    if connection.vendor != "postgresql":
        print("WARNING: DATABASE_URL is not PostgreSQL; figures are not comparable.")
    facts = machine()
    print(f"machine: {facts}")
    t0 = time.perf_counter()
    ids = _prepare(args.payments)
    print(f"prepared {len(ids)} started payments in {time.perf_counter() - t0:.1f} s")
    if connection.vendor == "postgresql":
        # A production database has statistics; fresh benchmark tables would otherwise be planned
        # blind until autovacuum gets to them, in the middle of a round.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    connections.close_all()

    # Confirmations and reference inserts take turns in rounds, so that a disturbance of the
    # machine hits both; the figures are the medians over the rounds.
    rounds: list[tuple[float, float]] = []
    latencies: list[float] = []
    reference_latencies: list[float] = []
    per_round = len(ids) // args.rounds
    for r in range(args.rounds):
        chunk = ids[r * per_round : (r + 1) * per_round]
        slices = [chunk[i :: args.workers] for i in range(args.workers)]
        rate, lat = _run(_confirm_worker, slices, args.workers)
        reference_rate, ref_lat = _run(_insert_worker, [len(s) for s in slices], args.workers)
        print(f"round {r + 1}: {rate:.1f} confirmations/s, {reference_rate:.1f} inserts/s")
        rounds.append((rate, reference_rate))
        latencies += lat
        reference_latencies += ref_lat
    rate = statistics.median(c for c, _ in rounds)
    reference_rate = statistics.median(i for _, i in rounds)
    ratio = statistics.median(c / i for c, i in rounds)
    ids = ids[: per_round * args.rounds]

    from rathauskasse.ledger.models import JournalEntry
    from rathauskasse.payments.models import Payment

    booked = JournalEntry.objects.filter(
        kind="payment_succeeded", idempotency_key__in=[f"payment:{pk}:succeeded" for pk in ids]
    ).count()
    succeeded = Payment.objects.filter(pk__in=ids, status="succeeded").count()
    assert booked == succeeded == len(ids), (booked, succeeded)

    result = {
        "bench": "confirm_payments",
        "payments": len(ids),
        "workers": args.workers,
        "rate": round(rate, 1),
        "reference_rate": round(reference_rate, 1),
        "ratio": round(ratio, 3),
        "rounds": args.rounds,
        "p50_ms": round(percentile(latencies, 0.5) * 1000, 2),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 2),
        "reference_p50_ms": round(percentile(reference_latencies, 0.5) * 1000, 2),
        "reference_p99_ms": round(percentile(reference_latencies, 0.99) * 1000, 2),
        **{k: v for k, v in facts.items() if k in ("cpus", "python", "django", "database")},
    }
    print(
        f"confirmations: {result['rate']}/s "
        f"(p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms); "
        f"bare INSERT: {result['reference_rate']}/s; ratio {result['ratio']}"
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
