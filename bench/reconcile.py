"""Benchmark: import and match a municipal camt.053 file against a million open receivables.

Builds an organisation with `--receivables` open receivables (bulk, through
`receivables.services.create_receivables_bulk`), and a camt.053.001.08 file of `--lines` credit
entries the way citizens pay:

- 70 % quote one Kassenzeichen cleanly (in several spellings: "KZ 2700012345", "Kassenzeichen
  27-0001234-5", the bare number) and pay its open amount;
- 15 % garble it: a line break or spaces inside the number, letters for digits (O/0, I/l/1, S/5,
  B/8) that the check digit confirms, or a real typo (one wrong digit) that no check digit lets
  through: those must end in the clearing queue, never at another receivable;
- 5 % pay two or three notices in one transfer, with their sum;
- 10 % give no Kassenzeichen at all ("Rechnung 4711 vom 3.11.").

Then it measures, on the same file: the raw lxml iterparse rate over its entries (the
reference), our parser alone, the matcher alone (candidates, one bulk look-up per 2,000 lines,
decisions) and the whole import (`reconciliation.services.import_statement`: parse, dedup,
store, match, book, all in one transaction). `book` is the import's time less parse and match.
Every booking is checked against what the generator meant: a line's allocations must go to the
receivables it named (a wrong booking is one to any other receivable, or any booking of a line
whose reference was garbled beyond the check digit).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/rathauskasse_bench \
        .venv/bin/python bench/reconcile.py [--lines 100000] [--receivables 1000000]

`--lines 10000 --receivables 100000` fits in a minute. Without DATABASE_URL it uses a temporary
SQLite file. Prints the machine and versions, and as its last line one JSON object.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

from _setup import machine, setup_django

BANK_IBAN = "DE02120300000000202051"
CONFUSIONS = {"0": "O", "1": "l", "5": "S", "8": "B"}
NAMES = ("Müller", "Schäfer", "Nguyễn", "Yılmaz", "Wąsowska", "Öztürk", "Weiß", "Jäger")


def _amount(i: int) -> int:
    return 1000 + (i * 7919) % 250_000


def _build_receivables(count: int) -> tuple[Any, list[str]]:
    from rathauskasse.core import audit
    from rathauskasse.organisations.services import (
        create_budget_line,
        create_department,
        create_organisation,
    )
    from rathauskasse.receivables.kassenzeichen import Scheme
    from rathauskasse.receivables.models import ReceivableSource
    from rathauskasse.receivables.services import (
        Debtor,
        LineInput,
        NewReceivable,
        create_receivables_bulk,
    )
    from rathauskasse.reconciliation.models import BankAccount

    actor = audit.Actor(label="bench")
    org = create_organisation(
        actor=actor,
        slug=f"bench-rec-{time.time_ns()}",
        name="Benchstadt",
        creditor_name="Stadtkasse Benchstadt",
        iban=BANK_IBAN,
        kz_prefix="",
        kz_year_digits=2,
        kz_number_digits=7,
        kz_check_algorithm="weighted2n",
    )
    BankAccount.objects.create(organisation=org, iban=BANK_IBAN, name="Hauptkonto")
    department = create_department(actor=actor, organisation=org, name="Steueramt")
    line = create_budget_line(actor=actor, organisation=org, code="611010.401300", name="Steuer")
    scheme = Scheme.of(org)
    kassenzeichen = [scheme.build(year=2027, number=n) for n in range(1, count + 1)]
    due = dt.date(2027, 3, 15)
    for start in range(0, count, 50_000):
        batch = [
            NewReceivable(
                department=department,
                lines=[LineInput(text="Grundsteuer B", amount_cents=_amount(i), budget_line=line)],
                purpose="Grundsteuer 2027",
                debtor=Debtor(name=f"{NAMES[i % 8]}, Erika {i}"),
                kassenzeichen=kassenzeichen[i],
                due_date=due,
            )
            for i in range(start, min(count, start + 50_000))
        ]
        create_receivables_bulk(
            actor=actor, organisation=org, receivables=batch, source=ReceivableSource.IMPORT
        )
    return org, kassenzeichen


def _garble(kz: str, i: int) -> tuple[str, bool]:
    """A garbled spelling of `kz`, and whether the check digit still lets it be read back."""
    kind = i % 3
    if kind == 0:  # a line break (or two spaces) inside the number
        cut = 3 + i % 5
        return f"{kz[:cut]}\n{kz[cut:]}" if i % 2 else f"{kz[:cut]}  {kz[cut:]}", True
    if kind == 1:  # letters for digits, where there is a digit to confuse
        for position in range(len(kz) - 1, -1, -1):
            if kz[position] in CONFUSIONS:
                return kz[:position] + CONFUSIONS[kz[position]] + kz[position + 1 :], True
        return kz, True
    # One wrong digit in the running number: every check digit here catches it.
    position = 4 + i % 4
    wrong = str((int(kz[position]) + 1 + i % 8) % 10)
    return kz[:position] + wrong + kz[position + 1 :], False


def _spell(kz: str, i: int) -> str:
    style = i % 4
    if style == 0:
        return f"Kassenzeichen {kz[:2]}-{kz[2:9]}-{kz[9:]}"
    if style == 1:
        return f"KZ {kz}"
    if style == 2:
        return f"Grundsteuer {kz} Erika"
    return kz


def build_file(path: Path, lines: int, kassenzeichen: list[str]) -> dict[int, set[int]]:
    """Write the camt.053; returns, per entry (1-based), the receivable indexes it may pay."""
    receivables = len(kassenzeichen)
    expected: dict[int, set[int]] = {}
    booking = dt.date(2027, 3, 16)
    with path.open("w", encoding="utf-8") as out:
        out.write(
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08">'
            "<BkToCstmrStmt><GrpHdr><MsgId>BENCH-1</MsgId>"
            "<CreDtTm>2027-03-16T18:00:00+01:00</CreDtTm></GrpHdr>"
            "<Stmt><Id>BENCH-STMT-1</Id><ElctrncSeqNb>1</ElctrncSeqNb>"
            "<CreDtTm>2027-03-16T18:00:00+01:00</CreDtTm>"
            f"<Acct><Id><IBAN>{BANK_IBAN}</IBAN></Id><Ccy>EUR</Ccy></Acct>"
        )
        for n in range(1, lines + 1):
            i = n - 1
            bucket = i % 100
            target = i % receivables
            name = f"{NAMES[target % 8]}, Erika"
            if bucket < 70:
                cents, text = _amount(target), _spell(kassenzeichen[target], i)
                expected[n] = {target}
            elif bucket < 85:
                garbled, readable = _garble(kassenzeichen[target], i)
                cents, text = _amount(target), f"Kassenzeichen {garbled}"
                expected[n] = {target} if readable else set()
            elif bucket < 90:
                several = [
                    target,
                    (target + lines) % receivables,
                    (target + 2 * lines) % receivables,
                ]
                several = list(dict.fromkeys(several[: 2 + i % 2]))
                cents = sum(_amount(k) for k in several)
                text = "Sammelzahlung " + ", ".join(f"KZ {kassenzeichen[k]}" for k in several)
                expected[n] = set(several)
            else:
                cents, text = _amount(target), f"Rechnung {4711 + i} vom 3.11. Danke"
                expected[n] = set()
            euros = f"{cents // 100}.{cents % 100:02d}"
            out.write(
                f'<Ntry><NtryRef>{n}</NtryRef><Amt Ccy="EUR">{euros}</Amt>'
                "<CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>"
                f"<BookgDt><Dt>{booking}</Dt></BookgDt><ValDt><Dt>{booking}</Dt></ValDt>"
                f"<AcctSvcrRef>BENCH-{n:08d}</AcctSvcrRef>"
                "<BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>ESCT</SubFmlyCd>"
                "</Fmly></Domn></BkTxCd>"
                "<NtryDtls><TxDtls><Refs><EndToEndId>NOTPROVIDED</EndToEndId></Refs>"
                f'<Amt Ccy="EUR">{euros}</Amt><CdtDbtInd>CRDT</CdtDbtInd>'
                f"<RltdPties><Dbtr><Pty><Nm>{name}</Nm></Pty></Dbtr>"
                f"<DbtrAcct><Id><IBAN>DE{10 + target % 89}500105170{target % 10_000_000:010d}"
                "</IBAN></Id></DbtrAcct></RltdPties>"
                f"<RmtInf><Ustrd>{text}</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>"
            )
        out.write("</Stmt></BkToCstmrStmt></Document>\n")
    return expected


def _reference_rate(path: Path) -> float:
    from lxml import etree

    t0 = time.perf_counter()
    count = 0
    tag = "{urn:iso:std:iso:20022:tech:xsd:camt.053.001.08}Ntry"
    for _, element in etree.iterparse(str(path), events=("end",), tag=tag):
        count += 1
        element.clear()
        while element.getprevious() is not None:
            del element.getparent()[0]
    return count / (time.perf_counter() - t0)


def _match_only(org: Any, parsed: list[Any]) -> float:
    """The matcher alone: readings, one look-up per 2,000 lines, decisions (no writes)."""
    from rathauskasse.receivables import selectors as receivable_selectors
    from rathauskasse.receivables.kassenzeichen import Scheme
    from rathauskasse.reconciliation import matching, references
    from rathauskasse.reconciliation.decisions import OpenItem

    scheme = Scheme.of(org)
    t0 = time.perf_counter()
    for start in range(0, len(parsed), 2000):
        chunk = parsed[start : start + 2000]
        read = references.batch_readings(chunk, scheme)
        keys = [references.lookup_keys(found) for found in read]
        rows = receivable_selectors.open_items(
            organisation=org, kassenzeichen={kz for group in keys for kz in group}
        )
        items = {
            kz: OpenItem(
                receivable_id=row.receivable_id,
                kassenzeichen=kz,
                open_cents=row.open_cents,
                status=row.status,
                debtor_name=row.debtor_name,
                due_date=row.due_date,
                total_cents=row.total_cents,
            )
            for kz, row in rows.items()
        }
        for line, found, group in zip(chunk, read, keys, strict=True):
            matching.decide(line, {kz: items[kz] for kz in group if kz in items}, readings=found)
    return time.perf_counter() - t0


def _wrong_bookings(org: Any, expected: dict[int, set[int]], kassenzeichen: list[str]) -> int:
    from rathauskasse.reconciliation.models import LineAllocation

    index_of = {kz: i for i, kz in enumerate(kassenzeichen)}
    wrong = 0
    rows = LineAllocation.objects.filter(line__organisation=org).values_list(
        "line__entry_index", "receivable__kassenzeichen"
    )
    for entry, kz in rows.iterator(chunk_size=10_000):
        if index_of.get(kz) not in expected.get(entry, set()):
            wrong += 1
    return wrong


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--receivables", type=int, default=1_000_000)
    args = parser.parse_args()
    if args.receivables < 3:
        parser.error("--receivables must be at least 3")
    temp = tempfile.TemporaryDirectory()
    if not os.environ.get("DATABASE_URL"):
        os.environ["DATABASE_URL"] = f"sqlite:///{temp.name}/bench.sqlite3"
    setup_django()

    from rathauskasse.core import audit
    from rathauskasse.reconciliation import parsers, services

    print(json.dumps(machine()))
    t0 = time.perf_counter()
    org, kassenzeichen = _build_receivables(args.receivables)
    print(f"built {args.receivables} receivables in {time.perf_counter() - t0:.1f} s", flush=True)
    path = Path(temp.name) / "camt053.xml"
    expected = build_file(path, args.lines, kassenzeichen)
    data = path.read_bytes()
    print(f"file: {args.lines} entries, {len(data) / 1e6:.1f} MB", flush=True)

    reference = _reference_rate(path)
    t0 = time.perf_counter()
    parsed = list(parsers.parse(data))
    parse_s = time.perf_counter() - t0
    match_s = _match_only(org, parsed)
    del parsed

    t0 = time.perf_counter()
    result = services.import_statement(
        organisation=org, data=data, file_name=path.name, actor=audit.Actor(label="bench")
    )
    total_s = time.perf_counter() - t0
    if result.outcome != services.ImportOutcome.IMPORTED:
        raise RuntimeError(f"the import failed: {result.message}")
    lines = result.lines_new
    book_s = max(total_s - parse_s - match_s, 1e-9)
    figures = {
        "bench": "reconcile",
        "lines": lines,
        "receivables": args.receivables,
        "lines_per_s": round(lines / total_s),
        "parse_lines_per_s": round(lines / parse_s),
        "match_lines_per_s": round(lines / match_s),
        "book_lines_per_s": round(lines / book_s),
        "reference_parse_lines_per_s": round(reference),
        "auto_booked_share": round(result.booked / lines, 4),
        "flagged_share": round(result.flagged / lines, 4),
        "clearing_share": round(result.clearing / lines, 4),
        "wrong_bookings": _wrong_bookings(org, expected, kassenzeichen),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
