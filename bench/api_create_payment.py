"""Benchmark: POST /api/v1/payments under gunicorn on PostgreSQL, against a bare insert endpoint.

The API runs as in production: gunicorn (started here on a free local port) with the project's
settings, DEBUG off, persistent database connections (CONN_MAX_AGE), the rate limit in Redis
when one answers at 127.0.0.1:6379. 16 clients create payments for 20 s, each request with its
own `Idempotency-Key` for an open receivable no request used before: authentication, rate limit,
idempotency reservation, schema validation, the payment with its allocation, event, audit entry
and expiry task, and the stored answer, in one transaction. The provider's start is not part of
this request: the answer's `next_url` starts the payment when the payer arrives (decision 0020).
The data is built through the services first: an organisation, a test API key with
payments:write, and the open receivables.

The reference is `POST /bench/insert` (bench/_bench_urls.py), served by the same gunicorn
configuration with the same settings and middleware: it reads a small JSON body and inserts one
row in one transaction, with no authentication, rate limit or idempotency. Its rate is what the
stack itself can do on this machine; the ratio says what the API's work costs on top of it.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/rathauskasse_bench \\
        .venv/bin/python bench/api_create_payment.py [--duration 20] [--clients 16] \\
        [--workers 3] [--worker-class sync] [--threads 1] [--calibrate]

The load comes from wrk (Debian package `wrk`) with bench/_wrk.lua, one thread, so that the
client takes as little of the two cores as possible; without wrk, from Python threads with
keep-alive connections (stated in the output). `--calibrate` first compares gunicorn
configurations for 6 s each. Prints its figures, the machine and versions, and as the last line
one JSON object.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from _setup import ROOT, machine, percentile, setup_django

BENCH = Path(__file__).resolve().parent
WRK_SCRIPT = BENCH / "_wrk.lua"
REDIS = ("127.0.0.1", 6379)
WARMUP_SECONDS = 3
#: Configurations --calibrate compares: (worker class, workers, threads per worker).
CANDIDATES = [("sync", 2, 1), ("sync", 3, 1), ("sync", 4, 1), ("gthread", 2, 4), ("gthread", 3, 2)]


@dataclass
class Result:
    requests: int
    failed: int
    seconds: float
    p50_ms: float
    p99_ms: float
    #: Requests sent, answered or not: how many receivables the run used up.
    sent: int

    @property
    def rate(self) -> float:
        return (self.requests - self.failed) / self.seconds


# --- data ---------------------------------------------------------------------------------------


def _prepare(n: int) -> tuple[str, list[int]]:
    from django.db import transaction

    from rathauskasse.api import services as api_services
    from rathauskasse.api.models import Scope
    from rathauskasse.core import audit
    from rathauskasse.organisations.services import (
        create_budget_line,
        create_department,
        create_organisation,
    )
    from rathauskasse.receivables.models import ReceivableSource
    from rathauskasse.receivables.services import Debtor, LineInput, create_receivable

    actor = audit.Actor(label="bench")
    stamp = str(time.time_ns())
    org = create_organisation(
        actor=actor,
        slug=f"bench-api-{stamp}",
        name="Benchstadt",
        creditor_name="Stadtkasse Benchstadt",
        iban="DE02120300000000202051",
        kz_prefix="",
        kz_year_digits=4,
        kz_number_digits=8,
    )
    department = create_department(actor=actor, organisation=org, name="Bürgeramt")
    line = create_budget_line(actor=actor, organisation=org, code="1.2.01", name="Gebühren")
    _, token = api_services.create_api_key(
        actor=actor,
        organisation=org,
        name="Bench",
        mode="test",
        scopes=[Scope.PAYMENTS_WRITE, Scope.PAYMENTS_READ],
    )
    with transaction.atomic():  # one commit: the set-up is not what is measured
        ids = [
            create_receivable(
                actor=actor,
                organisation=org,
                department=department,
                lines=[LineInput(text="Gebühr", amount_cents=1000 + i % 500, budget_line=line)],
                purpose="Bench",
                debtor=Debtor(name="Erika Mustermann"),
                source=ReceivableSource.API,
            ).pk
            for i in range(n)
        ]
    return token, ids


def _create_reference_table() -> None:
    from django.db import connection

    key = "bigserial PRIMARY KEY" if connection.vendor == "postgresql" else "integer PRIMARY KEY"
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS bench_insert (id {key}, "
            "created_at timestamp with time zone NOT NULL, note text NOT NULL)"
        )


# --- server -------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _redis_answers() -> bool:
    try:
        with socket.create_connection(REDIS, timeout=1) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
    except OSError:
        return False


class Gunicorn:
    def __init__(
        self, *, settings: str, worker_class: str, workers: int, threads: int, tmp: Path
    ) -> None:
        self.port = _free_port()
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": settings,
            "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(BENCH)]),
            "DEBUG": "false",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SITE_URL": f"http://127.0.0.1:{self.port}",
            "STATIC_ROOT": str(tmp / "static"),
            "MEDIA_ROOT": str(tmp / "media"),
            "EMAIL_URL": "dummymail://",
            "LOG_LEVEL": "WARNING",
            # One key sends all requests: far above the benchmark's rate, so that every request
            # is counted and checked but none refused.
            "API_RATE_LIMIT": "1000000000",
        }
        if _redis_answers():
            env["CACHE_URL"] = f"redis://{REDIS[0]}:{REDIS[1]}/9"
        command = [
            str(Path(sys.executable).with_name("gunicorn")),
            "rathauskasse.config.wsgi:application",
            f"--bind=127.0.0.1:{self.port}",
            f"--workers={workers}",
            f"--worker-class={worker_class}",
            f"--threads={threads}",
            "--log-level=warning",
            "--keep-alive=5",
        ]
        self.process = subprocess.Popen(command, env=env, cwd=ROOT)  # noqa: S603
        deadline = time.monotonic() + 180  # a shared, loaded machine boots slowly
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"gunicorn exited with {self.process.returncode}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request("GET", "/api/v1/openapi.json")
                conn.getresponse().read()
                conn.close()
                return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise SystemExit("gunicorn did not answer within 180 s")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


# --- load ---------------------------------------------------------------------------------------


def _payment_body(receivable_id: int) -> bytes:
    return json.dumps(
        {
            "receivables": [{"receivable": receivable_id}],
            "method": "card",
            "return_url": "https://bench.example/zurueck",
        }
    ).encode()


def _wrk(
    url: str, *, mode: str, ids: list[int], token: str, prefix: str, clients: int, seconds: int
) -> Result:
    with tempfile.NamedTemporaryFile("w", suffix=".ids", delete=False) as handle:
        handle.write("\n".join(map(str, ids)) + "\n")
    try:
        completed = subprocess.run(  # noqa: S603
            [  # noqa: S607
                "wrk",
                "--threads=1",
                f"--connections={clients}",
                f"--duration={seconds}s",
                "--timeout=10s",
                f"--script={WRK_SCRIPT}",
                url,
                "--",
                mode,
                handle.name,
                token,
                prefix,
                "1",
            ],
            capture_output=True,
            text=True,
            check=True,
        )
    finally:
        Path(handle.name).unlink()
    figures = json.loads(completed.stdout.strip().splitlines()[-1])
    failed = figures["failed"] + figures["socket_errors"]
    if figures["exhausted"]:
        print(f"WARNING: {figures['exhausted']} requests found no unused receivable")
    return Result(
        requests=figures["requests"],
        failed=failed,
        seconds=figures["duration_us"] / 1e6,
        p50_ms=figures["p50_us"] / 1000,
        p99_ms=figures["p99_us"] / 1000,
        sent=figures["sent"],
    )


def _python_load(
    url: str, *, mode: str, ids: list[int], token: str, prefix: str, clients: int, seconds: int
) -> Result:
    """Threads with keep-alive connections (http.client), when wrk is not installed."""
    port = int(url.rsplit(":", 1)[1])
    latencies: list[float] = []
    failed = [0]
    lock = threading.Lock()
    stop_at = time.perf_counter() + seconds

    def client(index: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        mine: list[float] = []
        bad = 0
        for n, receivable_id in enumerate(ids[index::clients]):
            if time.perf_counter() >= stop_at:
                break
            if mode == "insert":
                path, body, headers = "/bench/insert", b'{"note": "bench"}', {}
            else:
                path, body = "/api/v1/payments", _payment_body(receivable_id)
                headers = {
                    "Authorization": f"Bearer {token}",
                    "Idempotency-Key": f"{prefix}-{index}-{n}",
                }
            headers["Content-Type"] = "application/json"
            t0 = time.perf_counter()
            try:
                conn.request("POST", path, body=body, headers=headers)
                response = conn.getresponse()
                response.read()
                ok = response.status == 201
                if response.getheader("Connection", "").lower() == "close":
                    conn.close()
            except OSError:
                ok = False
                conn.close()
            mine.append(time.perf_counter() - t0)
            bad += not ok
        with lock:
            latencies.extend(mine)
            failed[0] += bad

    t0 = time.perf_counter()
    workers = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - t0
    return Result(
        requests=len(latencies),
        failed=failed[0],
        seconds=elapsed,
        p50_ms=percentile(latencies, 0.5) * 1000,
        p99_ms=percentile(latencies, 0.99) * 1000,
        sent=len(latencies) + clients,
    )


LOAD = _wrk if shutil.which("wrk") else _python_load


def _combine(rounds: list[Result]) -> Result:
    """All rounds of one endpoint: rates over the summed time, latencies as the rounds' medians."""
    return Result(
        requests=sum(r.requests for r in rounds),
        failed=sum(r.failed for r in rounds),
        seconds=sum(r.seconds for r in rounds),
        p50_ms=statistics.median(r.p50_ms for r in rounds),
        p99_ms=statistics.median(r.p99_ms for r in rounds),
        sent=sum(r.sent for r in rounds),
    )


def _run_both(
    *,
    config: tuple[str, int, int],
    token: str,
    ids: list[int],
    clients: int,
    seconds: int,
    rounds: int,
    tmp: Path,
) -> tuple[Result, Result, int]:
    """Payments and the reference, each on its own gunicorn, taking turns in `rounds` rounds.

    Taking turns means a disturbance of the machine (it is shared) hits both endpoints alike.
    Returns both results and how many receivables were used up.
    """
    worker_class, workers, threads = config
    stamp = secrets.token_hex(4)
    used = 0
    servers = {
        mode: Gunicorn(
            settings=settings,
            worker_class=worker_class,
            workers=workers,
            threads=threads,
            tmp=tmp,
        )
        for mode, settings in (
            ("payments", "rathauskasse.config.settings"),
            ("insert", "_bench_settings"),
        )
    }
    results: dict[str, list[Result]] = {"payments": [], "insert": []}
    try:
        plan = [("warmup", WARMUP_SECONDS)] + [
            (f"round{r}", seconds / rounds) for r in range(rounds)
        ]
        for phase, duration in plan:
            for mode, server in servers.items():
                result = LOAD(
                    server.url,
                    mode=mode,
                    ids=ids[used:],
                    token=token,
                    prefix=f"{stamp}-{phase}",
                    clients=clients,
                    seconds=max(1, round(duration)),
                )
                if mode == "payments":
                    used += result.sent
                if phase != "warmup":
                    results[mode].append(result)
    finally:
        for server in servers.values():
            server.stop()
    return _combine(results["payments"]), _combine(results["insert"]), used


# --- report -------------------------------------------------------------------------------------


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _versions() -> dict[str, str]:
    gunicorn = subprocess.run(  # noqa: S603
        [str(Path(sys.executable).with_name("gunicorn")), "--version"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    wrk = "not installed (Python client)"
    if shutil.which("wrk"):
        banner = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False)  # noqa: S607
        wrk = (banner.stdout or banner.stderr).splitlines()[0].split(" Copyright")[0]
    return {"gunicorn": gunicorn, "load generator": wrk}


def _check_payments(ids: list[int], created: int) -> None:
    """Every 201 is one created payment of one receivable; nothing twice.

    The payments stay `created`: the provider gets them when the payer follows `next_url`
    (decision 0020), which is not part of this request.
    """
    from django.db.models import Count

    from rathauskasse.payments.models import Payment, PaymentAllocation

    payments = Payment.objects.filter(allocations__receivable_id__in=ids)
    waiting = payments.filter(status="created").count()
    doubled = (
        PaymentAllocation.objects.filter(receivable_id__in=ids)
        .values("receivable_id")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .count()
    )
    assert doubled == 0, f"{doubled} receivables got more than one payment"
    assert waiting == payments.count() >= created, (waiting, payments.count(), created)


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--duration", type=int, default=20, help="seconds per endpoint")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--worker-class", default="sync", choices=["sync", "gthread"])
    parser.add_argument("--threads", type=int, default=1, help="per worker (gthread)")
    parser.add_argument("--rounds", type=int, default=4, help="turns the endpoints take")
    parser.add_argument("--receivables", type=int, default=0, help="default: enough for the run")
    parser.add_argument("--calibrate", action="store_true", help="compare gunicorn set-ups first")
    return parser.parse_args()


def main() -> None:
    args = _arguments()
    if not os.environ.get("DATABASE_URL"):
        # Never into the demo's database: a temporary SQLite file (figures not comparable).
        os.environ["DATABASE_URL"] = f"sqlite:///{tempfile.mkdtemp()}/api_create_payment.sqlite3"
    setup_django()
    from django.db import connection, connections

    if connection.vendor != "postgresql":
        print("WARNING: DATABASE_URL is not PostgreSQL; figures are not comparable.")
    facts = machine()
    versions = _versions()
    print(f"machine: {_cpu_model()}, {facts['cpus']} cores, {facts['system']}")
    print(
        f"versions: Python {facts['python']}, Django {facts['django']}, {facts['database']}, "
        f"{versions['gunicorn']}, load from {versions['load generator']}"
    )
    cache = "Redis" if _redis_answers() else "local memory (no Redis at 127.0.0.1:6379)"
    print(f"rate-limit cache: {cache}")

    per_second = 400  # more than this machine creates; a shortfall is reported as failures
    seconds = WARMUP_SECONDS + args.duration
    if args.calibrate:
        seconds += len(CANDIDATES) * (WARMUP_SECONDS + 6)
    n = args.receivables or per_second * seconds
    t0 = time.perf_counter()
    token, ids = _prepare(n)
    _create_reference_table()
    print(f"prepared {len(ids)} open receivables in {time.perf_counter() - t0:.1f} s")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    connections.close_all()

    used = 0
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        if args.calibrate:
            print("calibration (6 s each, after a warm-up):")
            for config in CANDIDATES:
                pay, ref, took = _run_both(
                    config=config,
                    token=token,
                    ids=ids[used:],
                    clients=args.clients,
                    seconds=6,
                    rounds=2,
                    tmp=tmp,
                )
                used += took
                print(
                    f"  {config[0]:8} workers={config[1]} threads={config[2]}: "
                    f"payments {pay.rate:7.1f}/s p99 {pay.p99_ms:6.1f} ms, "
                    f"insert {ref.rate:7.1f}/s p99 {ref.p99_ms:6.1f} ms, "
                    f"ratio {pay.rate / ref.rate:.3f}"
                )
        config = (args.worker_class, args.workers, args.threads)
        print(
            f"gunicorn: {config[0]} workers={config[1]} threads={config[2]}, "
            f"{args.clients} clients, {args.duration} s per endpoint in {args.rounds} turns, "
            f"after {WARMUP_SECONDS} s warm-up"
        )
        pay, ref, took = _run_both(
            config=config,
            token=token,
            ids=ids[used:],
            clients=args.clients,
            seconds=args.duration,
            rounds=args.rounds,
            tmp=tmp,
        )
        used += took

    if pay.failed or ref.failed:
        print(f"WARNING: {pay.failed} payment and {ref.failed} reference requests failed")
    _check_payments(ids, pay.requests - pay.failed)
    _report(pay, ref)


def _report(pay: Result, ref: Result) -> None:
    ratio = pay.rate / ref.rate
    print(
        f"create payment: {pay.rate:.1f} requests/s, p50 {pay.p50_ms:.2f} ms, "
        f"p99 {pay.p99_ms:.2f} ms ({pay.requests} requests)"
    )
    print(
        f"reference insert: {ref.rate:.1f} requests/s, p50 {ref.p50_ms:.2f} ms, "
        f"p99 {ref.p99_ms:.2f} ms ({ref.requests} requests)"
    )
    print(f"ratio: {ratio:.3f} (target ≥ 0.40), p99 {pay.p99_ms:.1f} ms (target < 50 ms)")
    print(
        json.dumps(
            {
                "bench": "api_create_payment",
                "rate": round(pay.rate, 1),
                "reference_rate": round(ref.rate, 1),
                "ratio": round(ratio, 3),
                "p50_ms": round(pay.p50_ms, 2),
                "p99_ms": round(pay.p99_ms, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
