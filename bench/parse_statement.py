"""Benchmark: statement parsing in lines per second and peak memory, against raw lxml.

Writes a camt.053 file with N entries (every tenth a batch of three TxDtls, so N * 1.2 lines)
and an MT940 file with N entries into a temporary directory. Each measurement runs in a fresh
process, so its peak RSS (ru_maxrss) is its own:

- `lxml`: the floor, a bare `etree.iterparse` over the same file that only counts `Ntry`
  elements and clears them as it goes;
- `camt`: `parsers.parse(path)`, every line built and checked;
- `camt_small`: the same on a file a tenth the size, so the two peaks show whether memory grows
  with the file;
- `mt940`: `parsers.parse(path)` on the MT940 file.

    .venv/bin/python bench/parse_statement.py [--entries 100000]

No database is touched. Prints the machine and versions, and as its last line one JSON object.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

NS = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"


def _tx(amount_cents: int, number: int) -> str:
    return (
        f"<TxDtls><Refs><EndToEndId>E2E-{number}</EndToEndId><MndtId>M-{number}</MndtId></Refs>"
        f'<Amt Ccy="EUR">{amount_cents // 100}.{amount_cents % 100:02d}</Amt>'
        "<CdtDbtInd>CRDT</CdtDbtInd><RltdPties><Dbtr><Pty><Nm>Erika Mustermann</Nm></Pty></Dbtr>"
        "<DbtrAcct><Id><IBAN>DE02120300000000202051</IBAN></Id></DbtrAcct></RltdPties>"
        "<RltdAgts><DbtrAgt><FinInstnId><BICFI>BYLADEM1001</BICFI></FinInstnId></DbtrAgt>"
        f"</RltdAgts><RmtInf><Ustrd>Kassenzeichen 1234.{number:08d} Hundesteuer 2026</Ustrd>"
        "</RmtInf></TxDtls>"
    )


def write_camt(path: Path, entries: int) -> int:
    """The file, and how many lines a parser should give."""
    lines = 0
    with path.open("w", encoding="utf-8") as out:
        out.write(
            f'<?xml version="1.0" encoding="UTF-8"?>\n<Document xmlns="{NS}"><BkToCstmrStmt>'
            "<GrpHdr><MsgId>B</MsgId><CreDtTm>2026-12-01T06:00:00+01:00</CreDtTm></GrpHdr>"
            "<Stmt><Id>BENCH</Id><Acct><Id><IBAN>DE89370400440532013000</IBAN></Id></Acct>\n"
        )
        for number in range(1, entries + 1):
            batch = number % 10 == 0
            parts = [1000 + number % 5000] * (3 if batch else 1)
            total = sum(parts)
            details = "".join(_tx(cents, number * 10 + i) for i, cents in enumerate(parts))
            count = f"<Btch><NbOfTxs>{len(parts)}</NbOfTxs></Btch>" if batch else ""
            out.write(
                f'<Ntry><Amt Ccy="EUR">{total // 100}.{total % 100:02d}</Amt>'
                "<CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>"
                "<BookgDt><Dt>2026-12-01</Dt></BookgDt><ValDt><Dt>2026-12-01</Dt></ValDt>"
                f"<AcctSvcrRef>R{number}</AcctSvcrRef><BkTxCd><Domn><Cd>PMNT</Cd><Fmly>"
                "<Cd>RCDT</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn></BkTxCd>"
                f"<NtryDtls>{count}{details}</NtryDtls></Ntry>\n"
            )
            lines += len(parts) if batch else 1
        out.write("</Stmt></BkToCstmrStmt></Document>\n")
    return lines


def write_mt940(path: Path, entries: int) -> int:
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(":20:BENCH\r\n:25:DE89370400440532013000\r\n:28C:1/1\r\n:60F:C261130EUR0,00\r\n")
        for number in range(1, entries + 1):
            out.write(
                f":61:2612011201C{10 + number % 5000},00NTRFNONREF//B{number}\r\n"
                f":86:166?00GUTSCHRIFT?109310?20EREF+E2E-{number}?21SVWZ+Kassenzeichen 1234\r\n"
                f"?22.{number:08d}?30BYLADEM1001?31DE02120300000000202051?32Erika Muster\r\n"
            )
        out.write(":62F:C261201EUR0,00\r\n-\r\n")
    return entries


def _lxml(path: str) -> int:
    from lxml import etree

    count = 0
    for _, elem in etree.iterparse(path, events=("end",), tag=f"{{{NS}}}Ntry"):
        count += 1
        elem.clear()
        parent = elem.getparent()
        if parent is not None:
            parent.remove(elem)
    return count


def _ours(path: str) -> int:
    from rathauskasse.reconciliation.parsers import parse

    return sum(1 for _ in parse(path))


def _child(kind: str, path: str, queue: Any) -> None:
    start, cpu = time.perf_counter(), time.process_time()
    count = _lxml(path) if kind == "lxml" else _ours(path)
    queue.put(
        {
            "count": count,
            "seconds": time.perf_counter() - start,
            "cpu_seconds": time.process_time() - cpu,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        }
    )


def measure(kind: str, path: Path) -> dict[str, Any]:
    context = mp.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_child, args=(kind, str(path), queue))
    process.start()
    result: dict[str, Any] = queue.get()
    process.join()
    result["per_second"] = round(result["count"] / result["seconds"])
    result["per_cpu_second"] = round(result["count"] / result["cpu_seconds"])
    result["seconds"] = round(result["seconds"], 3)
    result["cpu_seconds"] = round(result["cpu_seconds"], 3)
    result["peak_rss_mb"] = round(result["peak_rss_mb"], 1)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--entries", type=int, default=100_000)
    args = parser.parse_args()

    import lxml
    import mt940

    facts = {
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
        "system": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "lxml": lxml.__version__,
        "mt-940": mt940.__version__,
        "load": os.getloadavg()[0],
    }
    print("machine:", json.dumps(facts))
    with tempfile.TemporaryDirectory(prefix="bench-parse-") as tmp:
        big, small, sta = Path(tmp, "big.xml"), Path(tmp, "small.xml"), Path(tmp, "big.sta")
        lines = write_camt(big, args.entries)
        small_lines = write_camt(small, max(args.entries // 10, 1))
        sta_lines = write_mt940(sta, args.entries)
        sizes = {name: round(p.stat().st_size / 2**20, 1) for name, p in
                 (("camt_mb", big), ("camt_small_mb", small), ("mt940_mb", sta))}  # fmt: skip
        print("files:", json.dumps(sizes))
        results = {
            "lxml": measure("lxml", big),
            "camt": measure("ours", big),
            "camt_small": measure("ours", small),
            "mt940": measure("ours", sta),
        }
    assert results["lxml"]["count"] == args.entries
    assert results["camt"]["count"] == lines
    assert results["camt_small"]["count"] == small_lines
    assert results["mt940"]["count"] == sta_lines
    for name, result in results.items():
        print(f"{name:>10}: {json.dumps(result)}")
    summary = {
        "bench": "parse_statement",
        "entries": args.entries,
        "camt_lines": lines,
        "camt_lines_per_s": results["camt"]["per_second"],
        "camt_lines_per_cpu_s": results["camt"]["per_cpu_second"],
        "lxml_entries_per_s": results["lxml"]["per_second"],
        "mt940_lines_per_s": results["mt940"]["per_second"],
        "peak_rss_mb": results["camt"]["peak_rss_mb"],
        "peak_rss_small_mb": results["camt_small"]["peak_rss_mb"],
        "lxml_peak_rss_mb": results["lxml"]["peak_rss_mb"],
        "mt940_peak_rss_mb": results["mt940"]["peak_rss_mb"],
        **sizes,
        **facts,
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
