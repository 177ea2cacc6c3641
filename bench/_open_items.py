"""Benchmark helper: import a CSV file of open items through the service, in rows per second.

`run(rows)` builds its own organisation, budget lines, departments and profile, writes a CSV of
`rows` open items in memory (Windows-1252, semicolons, decimal comma, as a finance system
exports it) and imports it with `finance.services.import_open_items`: parsing, checking every
row, and writing receivables, lines, postings, audit entries and the import record in one
transaction. Another benchmark (the notices' batch print) calls `run()`; run alone:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/rathauskasse_bench \
        .venv/bin/python bench/_open_items.py [--rows 100000]

prints the machine, versions and load, the CPU time of Python and of the database backend (when
PostgreSQL runs on this host: other load on a shared machine stretches the wall time, not these),
and as the last line one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from _setup import machine, setup_django

_STREETS = ("Hauptstraße", "Bahnhofstraße", "Am Mühlbach", "Schloßallee", "Kölner Straße")
_NAMES = ("Müller", "Schäfer", "Weiß", "Groß", "Jäger", "Köhler", "Bäcker", "Öztürk")


def build_csv(rows: int, *, kassenzeichen: list[str], codes: list[str]) -> bytes:
    lines = ["Kassenzeichen;Betrag;Name;Straße;PLZ;Ort;Fällig;Text;HHSt;Amt;PK"]
    for i in range(rows):
        euros, cents = divmod(1000 + (i * 7919) % 250_000, 100)
        lines.append(
            f"{kassenzeichen[i]};{euros},{cents:02d};{_NAMES[i % 8]}, Erika {i};"
            f"{_STREETS[i % 5]} {i % 200 + 1};{10000 + (i * 37) % 89999:05d};Musterstadt;"
            f"{1 + i % 28:02d}.{1 + i % 12:02d}.2027;Grundbesitzabgaben 2027;"
            f"{codes[i % len(codes)]};Steueramt;{700000 + i}"
        )
    return ("\r\n".join(lines) + "\r\n").encode("cp1252")


def _backend_cpu_seconds() -> float | None:
    """CPU seconds of this connection's PostgreSQL backend, when the server runs on this host."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(rows: int = 100_000) -> dict[str, float]:
    """Import `rows` open items; the wall time and the CPU time of Python and the database.

    `import_id` names the `OpenItemImport` it made, for a benchmark that goes on with it (the
    notices' batch print: `finance.selectors.imported_receivables`).
    """
    from rathauskasse.core import audit
    from rathauskasse.finance import services
    from rathauskasse.organisations.services import (
        create_budget_line,
        create_department,
        create_organisation,
    )
    from rathauskasse.receivables.kassenzeichen import Scheme

    actor = audit.Actor(label="bench")
    stamp = str(time.time_ns())
    org = create_organisation(
        actor=actor,
        slug=f"bench-op-{stamp}",
        name="Benchstadt",
        creditor_name="Stadtkasse Benchstadt",
        iban="DE02120300000000202051",
        kz_prefix="",
        kz_year_digits=2,
        kz_number_digits=7,
        kz_check_algorithm="weighted2n",
    )
    department = create_department(actor=actor, organisation=org, name="Steueramt", code="20")
    codes = [f"611010.40{n}" for n in range(1300, 1305)]
    for code in codes:
        create_budget_line(actor=actor, organisation=org, code=code, name=f"Abgaben {code}")
    profile = services.create_profile(
        actor=actor,
        organisation=org,
        name="finanzverfahren",
        encoding="cp1252",
        delimiter=";",
        decimal_separator=",",
        thousands_separator=".",
        date_format="%d.%m.%Y",
        column_kassenzeichen="Kassenzeichen",
        column_amount="Betrag",
        column_debtor_name="Name",
        column_debtor_street="Straße",
        column_debtor_postcode="PLZ",
        column_debtor_city="Ort",
        column_due_date="Fällig",
        column_purpose="Text",
        column_budget_line="HHSt",
        column_department="Amt",
        column_debtor_account="PK",
        default_department=department,
    )
    scheme = Scheme.of(org)
    data = build_csv(
        rows,
        kassenzeichen=[scheme.build(year=2027, number=n) for n in range(1, rows + 1)],
        codes=codes,
    )
    db_before, cpu_before = _backend_cpu_seconds(), time.process_time()
    t0 = time.perf_counter()
    result = services.import_open_items(
        organisation=org, profile=profile, data=data, filename="op.csv", actor=actor
    )
    elapsed = time.perf_counter() - t0
    python_cpu, db_after = time.process_time() - cpu_before, _backend_cpu_seconds()
    if result.outcome != services.Outcome.CREATED or len(result.receivable_ids) != rows:
        raise RuntimeError(f"the import did not create {rows} receivables: {result}")
    assert result.record is not None
    figures = {
        "seconds": elapsed,
        "rows_per_s": rows / elapsed,
        "python_cpu_s": python_cpu,
        "import_id": result.record.pk,
    }
    if db_before is not None and db_after is not None:
        figures["db_cpu_s"] = db_after - db_before
    return figures


def run(rows: int = 100_000) -> float:
    """Import `rows` open items; returns rows per second (and prints one short line)."""
    figures = measure(rows)
    print(
        f"open-item import: {rows} rows in {figures['seconds']:.2f} s, "
        f"{figures['rows_per_s']:,.0f} rows/s"
    )
    return figures["rows_per_s"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    setup_django()
    from django.db import connection

    if connection.vendor != "postgresql":
        print("WARNING: DATABASE_URL is not PostgreSQL; figures are not comparable.")
    facts = machine()
    print(f"machine: {facts}, load average {os.getloadavg()[0]:.1f}")
    figures = measure(args.rows)
    print(
        f"open-item import: {args.rows} rows in {figures['seconds']:.2f} s, "
        f"{figures['rows_per_s']:,.0f} rows/s; CPU: Python {figures['python_cpu_s']:.2f} s"
        + (f", database {figures['db_cpu_s']:.2f} s" if "db_cpu_s" in figures else "")
    )
    result = {
        "bench": "open_items_import",
        "rows": args.rows,
        **{key: round(value, 2) for key, value in figures.items() if key != "import_id"},
        "load_average": round(os.getloadavg()[0], 1),
        **{k: v for k, v in facts.items() if k in ("cpus", "python", "django", "database")},
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
